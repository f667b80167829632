"""The HTTP API: `create_app(settings)` is the FastAPI application (`dealflow serve` runs it on
uvicorn). Its lifespan opens the application layer once (`open_dealflow`), shared by every request;
servers are reached on first use, so the API starts while Temporal or PostgreSQL is down and
`/readyz` says which.

OpenAPI 3.1 at /openapi.json; the interactive docs at /docs, served from the fastapi-offline
package (no CDN)."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import after_sales, approval_links, health, metrics, negotiation, opportunities, reads
from api.audit import AuditMiddleware
from api.auth import Owners
from api.problems import PROBLEM_JSON, install
from api.tracing import TracingMiddleware
from app.bootstrap import Dealflow, open_dealflow
from runtime.settings import Settings
from web.routes import router as web_pages

DESCRIPTION = """\
dealflow's sales pipeline over HTTP: open opportunities and move them through the stages,
request and decide discounts, submit and sign off contracts, work after-sales, read the reports.

**Authentication**: `Authorization: Bearer <token>` (a person: `dealflow token --person NAME`, or
your OIDC issuer's) or `Bearer <API key>` (a service account: `dealflow apikey create`). You are the
actor of what you send: an approver, signer or author a body names must be you.

**Retries**: send `Idempotency-Key` with a command; the same key again applies it at most once and
answers as the first time (retry after a 503 or a lost answer).

**Errors** are `application/problem+json` (RFC 9457) with `rule`: 422 invalid input, 409 refused by
a rule (nothing recorded), 404, 401, 403, 503 with `Retry-After`.
"""


def create_app(settings: Settings, *, dealflow: Dealflow | None = None) -> FastAPI:
    """The application; its lifespan opens the application layer on `settings`, or uses
    `dealflow` (already open, and left open: its owner closes it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            opened = dealflow
            if opened is None:
                opened = await stack.enter_async_context(open_dealflow(settings))
            app.state.dealflow = opened
            app.state.owners = Owners(opened)
            yield

    app = FastAPIOffline(
        title="dealflow",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,  # Redoc's page asks Google for its fonts: /docs is the offline one
    )
    for module in (health, metrics, opportunities, negotiation, after_sales, reads, approval_links):
        app.include_router(module.router)
    app.include_router(web_pages)  # the sales team's pages under /web (web/routes.py)
    install(app)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(TracingMiddleware)  # outermost: the audit line's work is in the request's span
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error response as problem+json (which is what is sent)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in "45" and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        app.openapi_schema = schema
    return app.openapi_schema
