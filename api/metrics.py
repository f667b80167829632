"""/metrics: the API process's metrics in Prometheus' text format — dealflow's (commands accepted
and refused by rule, append latency, and the gauges read from PostgreSQL at each scrape:
app/metrics.py) followed by the Temporal SDK's own (its client's requests and latencies, relayed
from the runtime's exporter: runtime/metrics_http.py). No credentials, like /readyz: scrapers call it."""

from fastapi import APIRouter, Request, Response

from app.bootstrap import Dealflow
from app.metrics import refresh_gauges
from runtime.metrics_http import CONTENT_TYPE, exposition

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    dealflow: Dealflow = request.app.state.dealflow

    async def refresh() -> None:
        await refresh_gauges(await dealflow.connections.store())

    return Response(await exposition(refresh), media_type=CONTENT_TYPE)
