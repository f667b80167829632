"""`dealflow worker` in operation, as a real process: its metrics port serves the Temporal SDK's
metrics and dealflow's (the append latency moves), and /readyz; on its own task queue
(DEALFLOW_TASK_QUEUE, which clients read too); SIGTERM drains it: an activity in flight when the
signal comes finishes on that worker, once, before the process exits (130)."""

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from domain.pipeline import load_catalog
from runtime.temporal_client import create_worker
from store.append import APPEND_LOCK
from store.event_store import EventStore
from tests.factories import open_cmd
from workflows.messages import APPEND_EVENTS

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[1]


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    log: Path
    url: str
    task_queue: str

    def lines(self) -> list[dict[str, object]]:
        found = []
        for line in self.log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
        return found

    async def logged(self, event: str) -> dict[str, object]:
        async with asyncio.timeout(30):
            while True:
                for line in self.lines():
                    if line.get("event") == event:
                        return line
                if self.process.returncode is not None:
                    raise AssertionError(
                        f"worker exited {self.process.returncode}: {self.log.read_text()[-3000:]}"
                    )
                await asyncio.sleep(0.1)


@pytest.fixture
async def worker_process(
    dev_server_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> AsyncIterator[WorkerProcess]:
    queue = f"ops-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_server_env.client.namespace,
        "DATABASE_URL": database_url,
        "DEALFLOW_DATA_DIR": str(tmp_path),
        "DEALFLOW_TASK_QUEUE": queue,
        "DEALFLOW_WORKER_METRICS_HOST": "127.0.0.1",
        "DEALFLOW_WORKER_SHUTDOWN_GRACE": "120",
    }
    log = tmp_path / "worker.log"
    dealflow = str(Path(sys.executable).with_name("dealflow"))
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            dealflow, "worker", "--metrics-port", "0", cwd=ROOT, env=env, stdout=out, stderr=out
        )  # fmt: skip
    worker = WorkerProcess(process, log, "", queue)
    try:
        serving = await worker.logged("metrics and readiness served")
        worker.url = f"http://127.0.0.1:{serving['port']}"
        await worker.logged("worker running")
        yield worker
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_metrics_readiness_and_a_graceful_stop(
    worker_process: WorkerProcess, dev_server_env: WorkflowEnvironment, database_url: str, store: EventStore
) -> None:
    deals = DealClient(dev_server_env.client, load_catalog(), worker_process.task_queue)
    async with httpx.AsyncClient(base_url=worker_process.url, timeout=10) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert {name for name, check in ready.json()["checks"].items() if check["ok"]} == {
            "worker",
            "Temporal",
            "PostgreSQL",
        }
        first = f"ops-{uuid.uuid4().hex[:8]}"
        await deals.open(open_cmd(first))  # served by the process: its queue is DEALFLOW_TASK_QUEUE
        # `open` returns once the lead is opened, its append may still be running: wait for it
        async with asyncio.timeout(30):
            while True:
                page = (await http.get("/metrics")).text
                appended = re.search(r"^dealflow_append_seconds_count (\S+)$", page, re.MULTILINE)
                assert appended is not None
                if float(appended[1]) >= 1:
                    break
                await asyncio.sleep(0.1)
        assert re.search(r"^dealflow_projector_lag_events \S+$", page, re.MULTILINE)
        # the SDK's own, relayed from its runtime's exporter
        assert re.search(r"^temporal_\w+", page, re.MULTILINE), page[-2000:]
        assert "temporal_activity_execution_latency" in page or "temporal_worker_task_slots" in page

        # SIGTERM while an append waits for the store's lock: the activity is in flight
        second = f"ops-{uuid.uuid4().hex[:8]}"
        # advisory locks are the database's, whatever the schema: the test's connection holds the append's
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as holder:
            await holder.execute("SELECT pg_advisory_lock(%s)", (APPEND_LOCK,))
            opening = asyncio.create_task(deals.open(open_cmd(second)))
            async with asyncio.timeout(30):
                while not await _waiting_for_lock(holder):  # noqa: ASYNC110 - polling the server
                    await asyncio.sleep(0.1)
            worker_process.process.send_signal(signal.SIGTERM)
            await worker_process.logged("worker stopping")
            not_ready = await http.get("/readyz")  # still answering while it drains, and saying so
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["worker"]["ok"] is False
            assert worker_process.process.returncode is None  # it waits for the activity
            await holder.execute("SELECT pg_advisory_unlock(%s)", (APPEND_LOCK,))
        async with asyncio.timeout(60):
            assert await worker_process.process.wait() == 130
    # The workflow's next task needs a worker: another one takes over, as in a rolling deploy.
    async with create_worker(dev_server_env.client, store, worker_process.task_queue):
        async with asyncio.timeout(30):
            await opening
    kinds: dict[int, str] = {}
    appends: list[int] = []  # each append's attempt, as its started event records it
    async for event in dev_server_env.client.get_workflow_handle(second).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            kinds[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            if kinds[started.scheduled_event_id] == APPEND_EVENTS:
                appends.append(started.attempt)
    assert appends == [1]  # finished by the stopping worker, not retried by the next one
    assert [e.type for e in await store.read_stream(second)] == ["OpportunityOpened"]
    assert "worker stopped" in {line.get("event") for line in worker_process.lines()}


async def _waiting_for_lock(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> bool:
    cur = await conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    row = await cur.fetchone()
    return bool(row and int(str(row[0])) > 0)
