"""Signing in and out, the static files, and the small endpoint pages poll to update themselves."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse

from web.oidc import FLOW_COOKIE, FLOW_SECONDS, begin, finish, oidc_client
from web.render import page
from web.routing import WebRoute
from web.session import (
    checked_form,
    clear_session,
    current_viewer,
    dealflow_of,
    set_session,
    viewer,
)
from web.sign_in import end_session, picker_allowed, redeem_link, start_session

router = APIRouter(route_class=WebRoute)
STATIC = Path(__file__).with_name("static")
STATIC_FILES = {"web.css": "text/css", "live.js": "text/javascript"}


def _next(target: str | None) -> str:
    """Where to go after signing in: a page of this app only (never another site)."""
    if target and target.startswith("/web/") and not target.startswith("/web//"):
        return target
    return "/web/inbox"


@router.get("/", name="web_home")
async def home(request: Request) -> Response:
    who = await current_viewer(request)
    return RedirectResponse("/web/inbox" if who else "/web/sign-in", status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    dealflow = dealflow_of(request)
    people = []
    if picker_allowed(dealflow):
        directory = dealflow.catalog.people
        people = [(name, ", ".join(sorted(directory.roles(name)))) for name in directory.names()]
    oidc = oidc_client(request, dealflow) is not None
    return page(request, "sign_in.html", None, people=people, next=_next(next), oidc=oidc)


@router.get("/sign-in/oidc")
async def oidc_begin(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    dealflow = dealflow_of(request)
    conf = oidc_client(request, dealflow)
    if conf is None:
        return RedirectResponse("/web/sign-in", status_code=303)
    url, flow = await begin(request, dealflow, conf, _next(next))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        flow,
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        path="/web/sign-in",
        secure=_https(request),
    )
    return response


@router.get("/sign-in/oidc/callback")
async def oidc_callback(
    request: Request,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    dealflow = dealflow_of(request)
    conf = oidc_client(request, dealflow)
    if conf is None or error:
        return page(
            request,
            "sign_in.html",
            None,
            status=401,
            people=[],
            next="/web/inbox",
            oidc=conf is not None,
            failed=True,
        )
    token, target = await finish(request, dealflow, conf, code, state)
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, token)
    response.delete_cookie(FLOW_COOKIE, path="/web/sign-in")
    return response


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await checked_form(request)
    dealflow = dealflow_of(request)
    person = str(form.get("person", ""))
    if not picker_allowed(dealflow) or not dealflow.catalog.people.knows(person):
        return page(request, "sign_in.html", None, status=403, people=[], next="/web/inbox", failed=True)
    return await _signed_in(request, person, _next(str(form.get("next", ""))))


@router.get("/sign-in/link")
async def link_page(request: Request, code: Annotated[str, Query(max_length=100)] = "") -> Response:
    return page(request, "sign_in_link.html", None, code=code)


@router.post("/sign-in/link")
async def use_link(request: Request) -> Response:
    form = await checked_form(request)
    person = await redeem_link(dealflow_of(request), str(form.get("code", "")))
    if person is None:
        return page(request, "sign_in_link.html", None, status=403, code="", failed=True)
    return await _signed_in(request, person, "/web/inbox")


async def _signed_in(request: Request, person: str, target: str) -> Response:
    token = await start_session(dealflow_of(request), person)
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, token)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await checked_form(request)
    who = await current_viewer(request)
    if who is not None:
        await end_session(who.dealflow, who.token)
    response = RedirectResponse("/web/sign-in?notice=Signed+out", status_code=303)
    clear_session(request, response)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    return FileResponse(
        STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "max-age=300"}
    )


@router.get("/live")
async def live(request: Request, deal: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """A number that changes whenever an event is stored (of the deal, if one is named)."""
    await viewer(request)
    store = await dealflow_of(request).connections.store()
    async with store.pool.connection() as conn:
        if deal:
            cur = await conn.execute(
                "SELECT count(*) FROM events WHERE stream_id = ANY(%s)",
                ([deal, f"{deal}.after-sales"],),
            )
        else:
            cur = await conn.execute("SELECT coalesce(max(position), 0) FROM events")
        row = await cur.fetchone()
    return JSONResponse({"version": int(str(row[0])) if row else 0})
