"""The route class of every page: the application's errors become pages (sign in, 403, 404,
409, 503), never JSON, and each response says how long the server took (`Server-Timing`, which
bench/web_pages.py reads)."""

import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.errors import AppError, Forbidden, NotFound, Refused, Unauthenticated, Unavailable
from domain.authorization import NotAllowed
from domain.errors import RuleViolation
from web.render import error_page
from web.session import BadForm, SignInNeeded

log = logging.getLogger("dealflow.web")


class WebRoute(APIRoute):
    """Pages answer errors with pages: sign in (303), 403, 404, 409, 503 — never JSON. Each
    response says how long the server took (`Server-Timing`), which bench/web_pages.py reads."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            response = await _answer(request, handler)
            elapsed = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
            )
            return response

        return handle


async def _answer(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    try:
        return await handler(request)
    except HTTPException:
        raise
    except RequestValidationError as err:
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in err.errors())
        return error_page(request, 400, "That cannot be read", f"Check these fields: {fields}.")
    except SignInNeeded:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/web/sign-in?next={quote(target, safe='/?=&')}", status_code=303)
    except BadForm:
        return error_page(request, 403, "This form has expired", "Reload the page and send it again.")
    except Unauthenticated as err:
        return error_page(
            request, 401, "Sign-in failed", f"{err.message} ({err.rule}). Start again from the sign-in page."
        )
    except (Forbidden, NotAllowed) as err:
        return error_page(request, 403, "Not yours to do", _message(err))
    except NotFound as err:
        return error_page(request, 404, "Not found", _message(err))
    except Unavailable as err:
        page = error_page(request, 503, "Try again in a moment", str(err))
        page.headers["Retry-After"] = "5"
        return page
    except (Refused, RuleViolation) as err:
        return error_page(request, 409, "Refused", _message(err))
    except AppError as err:
        return error_page(request, 400, "That cannot be done", str(err))
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_page(request, 500, "Something went wrong", "The error is logged.")


def _message(err: Exception) -> str:
    rule, message = getattr(err, "rule", None), getattr(err, "message", str(err))
    return f"{message} ({rule})" if rule else str(message)
