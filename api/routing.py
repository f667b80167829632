"""What every route shares: results shaped as JSON one way (app/json_shapes.py, as the CLI's
`--json`), and a route class that turns server faults into `Unavailable` and a bug into a 500
problem without its internals."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from api.audit import note
from api.problems import for_error, problem
from app.bootstrap import Dealflow
from app.errors import AppError
from app.faults import postgres_faults, temporal_faults
from app.json_shapes import plain
from domain.errors import RuleViolation

log = logging.getLogger("dealflow.api")


class Shaped(JSONResponse):
    """A result as JSON: amounts as decimal strings, datetimes RFC 3339 UTC with `Z`."""

    def render(self, content: Any) -> bytes:
        return super().render(plain(content))


def shaped(value: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Shaped:
    return Shaped(value, status_code=status_code, headers=headers)


class Route(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            dealflow: Dealflow = request.app.state.dealflow
            connections = dealflow.connections
            try:
                async with (
                    postgres_faults(lambda: connections.postgres_where),
                    temporal_faults(connections.temporal_address),
                ):
                    return await handler(request)
            except (HTTPException, RequestValidationError, ValidationError):
                raise  # answered by the handlers of api/problems.py
            except (AppError, RuleViolation) as err:
                note(request, rule=getattr(err, "rule", "bad-input"))
                return for_error(err)
            except Exception:  # a bug: logged with its traceback, answered without it
                log.exception("unexpected error in %s %s", request.method, request.url.path)
                note(request, rule="internal-error")
                return problem(500, "internal-error", "the server met an unexpected error; it is logged")

        return handle
