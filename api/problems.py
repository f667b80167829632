"""Errors as HTTP clients expect them: RFC 9457 `application/problem+json`, carrying the rule's name.

| error | status |
|---|---|
| invalid input: the request's shape (FastAPI's validation), `BadInput` | 422 |
| `Refused` (a rule said no; nothing was recorded) | 409 |
| `NotFound` | 404 |
| `Unauthenticated` (with `WWW-Authenticate: Bearer`) | 401 |
| `Forbidden`, the authorisation table's `NotAllowed` | 403 |
| `Unavailable` (a server down, no worker: retry with the same Idempotency-Key), with `Retry-After` | 503 |
| anything else: a bug, answered without its internals (logged) | 500 |
"""

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from api.audit import note
from app.errors import (
    AppError,
    BadInput,
    Forbidden,
    NotFound,
    NoWorker,
    Refused,
    Unauthenticated,
    Unavailable,
    Unreachable,
)
from domain.authorization import NotAllowed
from domain.errors import RuleViolation

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_S = 5
log = logging.getLogger("dealflow.api")


class Problem(BaseModel):
    """RFC 9457 problem details; `rule` names the rule or check that failed."""

    type: str
    title: str
    status: int
    detail: str
    rule: str
    errors: list[dict[str, Any]] | None = None  # for invalid input: where and what


class ProblemResponse(Response):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        # ASCII: a detail may quote input holding anything, lone surrogates included
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def problem(
    status: int,
    rule: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": f"urn:dealflow:problem:{rule}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "rule": rule,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    return ProblemResponse(body, status_code=status, headers=headers)


def for_error(err: Exception) -> ProblemResponse:
    """The problem an application error (or a rule the API applied itself) answers with."""
    if isinstance(err, NotAllowed):
        return problem(403, err.rule, err.message)
    if isinstance(err, NotFound):
        return problem(404, err.rule, err.message)
    if isinstance(err, Forbidden):
        return problem(403, err.rule, err.message)
    if isinstance(err, Refused | RuleViolation):
        return problem(409, err.rule, err.message)
    if isinstance(err, Unauthenticated):
        challenge = f'Bearer realm="dealflow", error="invalid_token", error_description="{err.rule}"'
        return problem(401, err.rule, err.message, headers={"WWW-Authenticate": challenge})
    if isinstance(err, Unavailable):
        rule = (
            "server-unreachable"
            if isinstance(err, Unreachable)
            else "no-worker"
            if isinstance(err, NoWorker)
            else "not-answered"
        )
        return problem(503, rule, str(err), headers={"Retry-After": str(RETRY_AFTER_S)})
    if isinstance(err, BadInput):
        return problem(422, "bad-input", str(err))
    if isinstance(err, AppError):
        return problem(422, "bad-input", str(err))
    log.error("unexpected error answering a request", exc_info=err)
    return problem(500, "internal-error", "the server met an unexpected error; it has been logged")


def invalid_input(errors: list[Any], title: str = "the request") -> ProblemResponse:
    found = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]
    where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in found[:5])
    return problem(422, "valid-input", f"{title} is not valid: {where}", errors=found)


def install(app: FastAPI) -> None:
    """Every error a route can raise, answered as a problem."""

    async def on_app_error(request: Request, err: Exception) -> Response:
        note(request, rule=getattr(err, "rule", "bad-input"))
        return for_error(err)

    async def on_validation(request: Request, err: Exception) -> Response:
        assert isinstance(err, RequestValidationError | ValidationError)
        note(request, rule="valid-input")
        return invalid_input(list(err.errors()))

    async def on_http(request: Request, err: Exception) -> Response:
        assert isinstance(err, HTTPException)
        rule = {404: "known-resource", 405: "allowed-method"}.get(err.status_code, "http")
        note(request, rule=rule)
        return problem(err.status_code, rule, str(err.detail), headers=dict(err.headers or {}))

    for kind in (AppError, NotAllowed):
        app.add_exception_handler(kind, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": HTTPStatus(status).phrase}
    for status in (401, 403, 404, 409, 422, 503)
}
