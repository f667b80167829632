"""/healthz: the process answers. /readyz: Temporal and PostgreSQL answer (503 naming the one that
does not), with the projector's lag: events stored and not yet in the read models, the oldest one's
age, and the projector service leading, if one runs. Neither needs credentials: load balancers and
orchestrators call them."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from api.models import Health
from api.problems import RETRY_AFTER_S, problem
from api.routing import shaped
from app.bootstrap import Dealflow
from app.faults import first_line

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 3.0
Check = Callable[[Dealflow], Awaitable[dict[str, Any]]]


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Response:
    return shaped(Health(status="ok"))


@router.get(
    "/readyz",
    response_model=dict[str, Any],
    summary="Temporal and PostgreSQL reachable; the projector's lag",
    responses={503: {"description": "a server does not answer (named in `detail` and `checks`)"}},
)
async def readyz(request: Request) -> Response:
    dealflow: Dealflow = request.app.state.dealflow
    checks: dict[str, Any] = {}
    failing: list[str] = []
    for server, check in (("Temporal", _temporal), ("PostgreSQL", _postgres)):
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                checks[server] = await check(dealflow)
        except Exception as err:  # any failure to answer is "not ready", named
            failing.append(server)
            checks[server] = {
                "ok": False,
                "error": first_line(err),
            }
    if failing:
        detail = "not ready: " + "; ".join(f"{s}: {checks[s]['error']}" for s in failing)
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        return problem(503, "servers-reachable", detail, headers=headers, extra={"checks": checks})
    return shaped({"status": "ready", "checks": checks})


async def _temporal(dealflow: Dealflow) -> dict[str, Any]:
    client = await dealflow.connections.temporal()
    await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_S))
    return {"ok": True, "address": dealflow.connections.temporal_address}


async def _postgres(dealflow: Dealflow) -> dict[str, Any]:
    """Reachable, and how far the read models trail the events (reports stay exact whatever the
    lag: each catches up before it reads)."""
    lag = await dealflow.connections.projector_lag()
    return {
        "ok": True,
        "where": dealflow.connections.postgres_where,
        "projector_lag": lag.events,
        "projector_lag_s": lag.seconds,
        "projector_service": lag.leader,
    }
