"""reconcile finds what is stuck, on a real dev server and PostgreSQL: a workflow whose events never
reach the store (found through Temporal's visibility, the store having never heard of it), its
append in flight for longer than --stuck-after; and a workflow whose task keeps failing."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.bootstrap import open_dealflow
from app.deal_client import DealClient
from app.reconcile import StreamCheck
from cli.main import main
from domain.pipeline import load_catalog
from runtime.settings import Settings
from runtime.temporal_client import create_worker
from store.event_store import EventStore
from tests.factories import open_cmd

pytestmark = pytest.mark.slow


@workflow.defn(name="OpportunityWorkflow", sandboxed=False)
class BrokenOpportunityWorkflow:
    """Workflow code with a bug: every workflow task fails, so the workflow never moves."""

    @workflow.run
    async def run(self, start: dict[str, Any]) -> None:
        raise RuntimeError("a bug in the workflow code")


@pytest.fixture
async def refusing_store(store: EventStore) -> EventStore:
    """A store whose events table refuses every insert, as a trigger (or a revoked grant) would:
    an error that is not the data's fault, so the append is retried, for ever."""
    async with store.pool.connection() as conn:
        await conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'inserts are switched off'; END $$"
        )
        await conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    return store


@pytest.fixture
def settings(dev_server_env: WorkflowEnvironment, database_url: str) -> Settings:
    return Settings(
        temporal_address=dev_server_env.client.service_client.config.target_host,
        temporal_namespace=dev_server_env.client.namespace,
        database_url=database_url,
    )


async def checks_of(settings: Settings, **kwargs: Any) -> dict[str, StreamCheck]:
    async with open_dealflow(settings) as app:
        return {c.stream: c for c in await app.reconciliation.run(**kwargs)}


async def test_events_that_never_reach_the_store_are_found_through_visibility(
    dev_server_env: WorkflowEnvironment, refusing_store: EventStore, settings: Settings
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    oid = f"stuck-{uuid.uuid4().hex[:8]}"
    since = datetime.now(UTC) - timedelta(seconds=1)
    async with create_worker(dev_server_env.client, refusing_store, task_queue):
        await DealClient(dev_server_env.client, load_catalog(), task_queue).open(open_cmd(oid))
        assert await refusing_store.read_stream(oid) == []  # the store never heard of it

        async with asyncio.timeout(20):  # visibility is eventually consistent
            while oid not in (  # noqa: ASYNC110 - polling a remote index
                checks := await checks_of(settings, start=since, stuck_after=timedelta(0))
            ):
                await asyncio.sleep(0.3)
        stuck = checks[oid]
        assert not stuck.ok
        assert stuck.in_flight >= 1
        assert stuck.stuck is not None
        assert "in flight to the store since" in stuck.stuck
        assert stuck.failing is None

        # Not yet stuck by the default patience: in flight is normal for a while.
        [fresh] = [c for c in (await checks_of(settings, ids=[oid])).values() if c.stream == oid]
        assert fresh.stuck is None
        assert fresh.ok
    await dev_server_env.client.get_workflow_handle(oid).terminate("test finished")


async def test_a_failing_workflow_task_is_reported(
    dev_server_env: WorkflowEnvironment,
    store: EventStore,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    oid = f"failing-{uuid.uuid4().hex[:8]}"
    client = dev_server_env.client
    async with Worker(client, task_queue=task_queue, workflows=[BrokenOpportunityWorkflow]):
        handle = await client.start_workflow(
            "OpportunityWorkflow", {"command": {}}, id=oid, task_queue=task_queue
        )
        async with asyncio.timeout(20):
            while not (check := (await checks_of(settings, ids=[oid]))[oid]).failing:  # noqa: ASYNC110
                await asyncio.sleep(0.3)
        assert check.failing is not None
        assert "a bug in the workflow code" in check.failing
        assert not check.ok

        for key, value in (
            ("TEMPORAL_ADDRESS", settings.temporal_address),
            ("TEMPORAL_NAMESPACE", settings.temporal_namespace),
            ("DATABASE_URL", settings.database_url),
        ):
            monkeypatch.setenv(key, str(value))
        capsys.readouterr()
        assert await main(["reconcile", oid, "--json"]) == 1
        [row] = [r for r in json.loads(capsys.readouterr().out) if r["stream"] == oid]
        assert "a bug in the workflow code" in row["failing"]
        assert await main(["reconcile", oid]) == 1
        out = capsys.readouterr().out
        assert f"{oid}: failing: workflow task failing" in out
        assert await main(["reconcile", oid, "--stuck-after", "soon"]) == 2
        assert "a duration like 30s, 5m" in capsys.readouterr().err
    await handle.terminate("test finished")
