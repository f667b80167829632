"""Every page of the web app under /web, as one router for the HTTP API's app to include:

app.include_router(web.routes.router)   # needs app.state.dealflow, as the API's routes do
"""

from fastapi import APIRouter

from web import routes_auth, routes_deal, routes_desk, routes_reports

router = APIRouter(prefix="/web", include_in_schema=False)
for part in (routes_auth, routes_desk, routes_deal, routes_reports):
    router.include_router(part.router)
