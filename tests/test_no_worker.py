"""With no worker to answer, a command or a query fails in seconds with a retryable error naming
the task queue (exit 5 on the command line), and a retry with the same request id, once a worker
runs, is applied once. On a dev server of this module's own: no other test's worker is listed."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.errors import NotAnswered, NoWorker, Refused, Unavailable
from cli.main import main
from domain.commands import AdvanceStage, LogTouch
from domain.pipeline import load_catalog
from domain.stages import Stage
from runtime.settings import TASK_QUEUE
from runtime.temporal_client import create_worker, in_memory_dev_server
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd

pytestmark = pytest.mark.slow
SECONDS_NOT_30 = 20  # a generous ceiling: Temporal alone would hold a query 30 s, an update for ever


@pytest.fixture(scope="module")
async def lonely() -> AsyncIterator[WorkflowEnvironment]:
    async with await in_memory_dev_server() as env:
        yield env


async def test_no_worker_polling_is_named_in_seconds(lonely: WorkflowEnvironment, store: EventStore) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    deals = DealClient(lonely.client, load_catalog(), task_queue)
    oid = f"nw-{uuid.uuid4().hex[:8]}"
    async with create_worker(lonely.client, store, task_queue):  # opened by a worker now gone...
        await deals.open(open_cmd(oid))
        await deals.log_touch(oid, LogTouch(kind="call", by="alice"))
    await asyncio.sleep(0)
    other = DealClient(
        lonely.client, load_catalog(), f"tq-{uuid.uuid4().hex[:8]}"
    )  # ...and a queue never polled
    start = time.monotonic()
    with pytest.raises(NoWorker) as err:
        await other.show(oid)
    assert time.monotonic() - start < SECONDS_NOT_30
    assert err.value.retryable
    assert not isinstance(err.value, Refused)
    assert f"no worker is running for task queue {other._task_queue}" in str(err.value)

    start = time.monotonic()
    with pytest.raises(NoWorker) as err:
        await other.advance(oid, AdvanceStage(to_stage=Stage.CONTACT, facts=ALL_FACTS), request_id="req-42")
    assert time.monotonic() - start < SECONDS_NOT_30
    assert err.value.request_id == "req-42"
    assert "retry with request id req-42" in str(err.value)


async def test_a_worker_that_went_away_is_noticed_and_the_retry_applies_once(
    lonely: WorkflowEnvironment, store: EventStore
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    deals = DealClient(lonely.client, load_catalog(), task_queue)
    oid = f"gone-{uuid.uuid4().hex[:8]}"
    async with create_worker(lonely.client, store, task_queue):
        await deals.open(open_cmd(oid))
        await deals.log_touch(oid, LogTouch(kind="call", by="alice"))
    # The worker stopped a moment ago: Temporal still lists its pollers, but nobody takes the work.
    move = AdvanceStage(to_stage=Stage.CONTACT, facts=ALL_FACTS)
    start = time.monotonic()
    with pytest.raises(Unavailable) as err:
        await deals.advance(oid, move, request_id="move-once")
    assert time.monotonic() - start < SECONDS_NOT_30 + 10
    assert isinstance(err.value, NotAnswered | NoWorker), err.value
    async with create_worker(lonely.client, store, task_queue):  # back: the user retries
        state = await deals.advance(oid, move, request_id="move-once")
        assert state.stage is Stage.CONTACT
        assert (await deals.advance(oid, move, request_id="move-once")) == state
        async with asyncio.timeout(10):
            while len(await store.read_stream(oid)) < 4:  # noqa: ASYNC110 - polling the store
                await asyncio.sleep(0.05)
    assert [e.type for e in await store.read_stream(oid)] == [
        "OpportunityOpened",
        "TouchLogged",
        "StageAdvanced",
        "ExpectedCloseDateSet",  # the move's facts name the close date
    ]


async def test_the_cli_exits_5_naming_the_task_queue(
    lonely: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", lonely.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", lonely.client.namespace)
    oid = f"cli-{uuid.uuid4().hex[:8]}"
    lead = ["start", "--id", oid, "--owner", "an", "--company", "Acme", "--contact", "Li", "--source", "web"]
    assert await main([*lead, "--request-id", "open-9"]) == 5  # started, but nobody opens the lead
    err = capsys.readouterr().err
    assert "no worker is running" in err
    assert "retry with request id open-9" in err
    start = time.monotonic()
    assert await main(["show", oid]) == 5
    assert time.monotonic() - start < SECONDS_NOT_30
    err = capsys.readouterr().err
    assert err.startswith(f"unavailable: no worker is running for task queue {TASK_QUEUE} on Temporal at"), (
        err
    )
    assert len(err.splitlines()) == 1

    assert await main(["touch", oid, "--kind", "call", "--by", "an", "--request-id", "r-7"]) == 5
    err = capsys.readouterr().err
    assert "no worker is running" in err
    assert "retry with request id r-7" in err
    assert "Traceback" not in err
