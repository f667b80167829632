"""Audit: every command sent through the API (every POST), accepted or refused, authentication and
authorisation failures included, is one structured log line on the logger `dealflow.audit` (JSON
through runtime/logging_setup.py): who (the principal), what (the command), on which deal, under
which request id, and the outcome (accepted, or refused with the rule and the status code). The
same line counts the command in `dealflow_commands_total{command, outcome, rule}` (app/metrics.py).

The middleware owns the line, so no path can skip it: the routes and error handlers only fill in
what they learn (`note`)."""

import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import count_command

AUDIT = logging.getLogger("dealflow.audit")
AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HEADER_MAX = 200


@dataclass
class AuditRecord:
    principal: str | None = None
    command: str | None = None
    deal_id: str | None = None
    request_id: str | None = None
    rule: str | None = None


def record_of(request: Request) -> AuditRecord | None:
    found = request.scope.get("state", {}).get("audit")
    return found if isinstance(found, AuditRecord) else None


def note(request: Request, **fields: Any) -> None:
    """What a route or handler learnt about the command it answers (principal, deal_id, …)."""
    record = record_of(request)
    if record is not None:
        for name, value in fields.items():
            setattr(record, name, value)


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in AUDITED_METHODS:
            await self.app(scope, receive, send)
            return
        record = AuditRecord(request_id=_idempotency_key(scope))
        scope.setdefault("state", {})["audit"] = record
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _write(record, status, scope)


def _idempotency_key(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"idempotency-key":
            return str(value.decode("latin-1")[:_HEADER_MAX])
    return None


def _write(record: AuditRecord, status: int, scope: Scope) -> None:
    endpoint = scope.get("endpoint")
    command = record.command or getattr(endpoint, "__name__", None) or f"{scope['method']} {scope['path']}"
    deal = record.deal_id or scope.get("path_params", {}).get("opportunity_id")
    accepted = status < 400
    # dealflow_commands_total: labelled by the route, never the raw path (bounded label values)
    count_command(
        record.command or getattr(endpoint, "__name__", None) or "unrouted", accepted, record.rule, status
    )
    AUDIT.info(
        "command %s %s",
        command,
        "accepted" if accepted else f"refused ({status} {record.rule or ''})".replace(" )", ")"),
        extra={
            "principal": record.principal,
            "command": command,
            "deal_id": deal,
            "request_id": record.request_id,
            "outcome": "accepted" if accepted else "refused",
            "status": status,
            "rule": record.rule,
        },
    )
