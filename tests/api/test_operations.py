"""Operations: /readyz fails while PostgreSQL is down (Temporal's outage: test_errors.py) and
/metrics still answers; `dealflow serve` relays the Temporal SDK's metrics beside dealflow's; the
API's and the projector's logs are JSON lines, and both stop on SIGTERM (exit 130)."""

import asyncio
import json
import signal
import sys
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from runtime.settings import Settings
from tests.api.conftest import ROOT, Api, Served, free_port

pytestmark = pytest.mark.slow


def json_lines(text: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # each line parses
    assert all({"event", "level", "timestamp"} <= line.keys() for line in lines), lines
    return lines


async def test_postgres_down_is_not_ready(api_settings: Settings, api: Api) -> None:
    down = api_settings.model_copy(update={"database_url": f"postgresql://nobody@127.0.0.1:{free_port()}/x"})
    app = create_app(down)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://down.test") as client,
    ):
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert (checks["Temporal"]["ok"], checks["PostgreSQL"]["ok"]) == (True, False)
        assert "PostgreSQL" in ready.json()["detail"]
        scraped = await client.get("/metrics")  # a scrape still answers, and says what it missed
        assert scraped.status_code == 200
        assert "# dealflow gauges not refreshed: cannot reach PostgreSQL" in scraped.text


async def test_the_served_api_relays_the_sdk_metrics_and_logs_json(
    served: Served, api_settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        assert (await client.get("/readyz")).status_code == 200  # its Temporal client is connected
        page = (await client.get("/metrics")).text
    assert "dealflow_projector_lag_events" in page
    assert "temporal_request_total" in page or "temporal_request" in page, page[-1500:]
    lines = json_lines((api_settings.data_dir / "serve.log").read_text())
    assert any(str(line["event"]).startswith("dealflow API on http://") for line in lines)


async def test_the_projector_service_logs_json_and_stops_on_sigterm(served: Served, tmp_path: Path) -> None:
    log = tmp_path / "projector.log"
    dealflow = str(Path(sys.executable).with_name("dealflow"))
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            dealflow, "projector", cwd=ROOT, env=served.env, stdout=out, stderr=out
        )  # fmt: skip
    try:
        async with asyncio.timeout(30):
            while "leading" not in log.read_text() and process.returncode is None:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            code = await process.wait()
    assert code == 130
    assert json_lines(log.read_text())
