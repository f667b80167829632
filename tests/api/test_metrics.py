"""/metrics on the API: a scraper sees the commands counted by outcome and rule, the append
latency and the gauges read from PostgreSQL; a refused command moves its counter."""

import re

from tests.api.conftest import Api
from tests.api.test_errors import opened


def sample(page: str, name: str, **labels: str) -> float:
    """One sample's value on a Prometheus text page (0 when the series is not there yet)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if labels else ''} (\S+)$"
    found = re.search(pattern, page, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def scrape(api: Api) -> str:
    answer = await api.client.get("/metrics")  # no credentials: scrapers call it
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


async def test_a_refused_command_moves_its_counter(api: Api) -> None:
    oid = await opened(api)
    refused = {"command": "advance", "outcome": "refused", "rule": "forward-one-stage"}
    before = await scrape(api)
    moved = await api.call("POST", f"/v1/opportunities/{oid}/advance", "an.li", {"to_stage": "deal"})
    assert moved.status_code == 409
    after = await scrape(api)
    assert (
        sample(after, "dealflow_commands_total", **refused)
        == sample(before, "dealflow_commands_total", **refused) + 1
    )
    accepted = {"command": "open_opportunity", "outcome": "accepted", "rule": ""}
    assert sample(after, "dealflow_commands_total", **accepted) >= 1
    for gauge in (
        "dealflow_projector_lag_events",
        "dealflow_projector_lag_seconds",
        "dealflow_outbox_backlog",
        "dealflow_outbox_failed",
        "dealflow_approvals_pending",
        "dealflow_oldest_pending_approval_seconds",
    ):
        assert re.search(rf"^{gauge} \S+$", after, re.MULTILINE), gauge
    # the open's append ran in this process's worker: its latency is on the page
    assert sample(after, "dealflow_append_seconds_count") >= 1
    assert "/metrics" not in (await api.client.get("/openapi.json")).json()["paths"]
