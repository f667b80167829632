"""The web app on its own, for its tests and bench/web_pages.py (`dealflow serve` serves the
same router beside the HTTP API):

    python -m web.app [--host 127.0.0.1] [--port 8001]     # settings from the environment
"""

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from app.bootstrap import open_dealflow
from runtime.settings import Settings
from web.routes import router


def create_web_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_dealflow(settings) as dealflow:
            app.state.dealflow = dealflow
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/web/", status_code=307)

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(create_web_app(Settings.from_env()), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
