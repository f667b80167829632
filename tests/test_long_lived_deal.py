"""A deal that lives a year with 5,000 logged touches: it continues as new before Temporal's limit on
updates per run, every event is stored once, a request retried after a continue-as-new is not
applied twice, and every run's history replays on today's code."""

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.commands import LogTouch
from domain.events import TouchLogged
from domain.opportunity import OpportunityState
from store.event_store import EventStore
from tests.engine import engine_deals
from tests.factories import open_cmd
from workflows.after_sales import AfterSalesWorkflow
from workflows.event_stream import UPDATES_PER_RUN
from workflows.opportunity import OpportunityWorkflow

TOUCHES = 5_000
AT_ONCE = 8  # Temporal takes at most 10 updates in flight per workflow
YEAR = timedelta(days=365)


async def runs(env: WorkflowEnvironment, workflow_id: str) -> list[WorkflowHistory]:
    """Every run's history, first run first, following continue-as-new back from the latest."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        histories.append(await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history())
        started = histories[-1].events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id
        if not run_id:
            return histories[::-1]


async def touch(handle: WorkflowHandle[OpportunityWorkflow, Any], n: int) -> OpportunityState:
    cmd = LogTouch(kind="call", by="alice", note=f"call {n}")
    return await handle.execute_update(OpportunityWorkflow.log_touch, cmd, id=f"{handle.id}-touch-{n}")


async def test_a_year_of_touches_continues_as_new_and_stores_every_event_once(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    env = time_skipping_env
    began = time.monotonic()
    async with engine_deals(env, store) as deals:
        oid = f"opp-{uuid.uuid4().hex[:10]}"
        await deals.open(open_cmd(oid))
        handle = env.client.get_workflow_handle_for(OpportunityWorkflow.run, oid)
        first_run = (await handle.describe()).run_id
        retried = False
        for start in range(1, TOUCHES + 1, AT_ONCE):
            numbers = range(start, min(start + AT_ONCE, TOUCHES + 1))
            await asyncio.gather(*(touch(handle, n) for n in numbers))
            await env.sleep(YEAR * AT_ONCE / TOUCHES)  # the touches spread over a year
            if not retried and (await handle.describe()).run_id != first_run:
                # A client retrying a request of the first run after the continue-as-new (with the
                # same request id) gets the current state and records nothing. The batch before
                # this one was handled by the first run (it was still the current one after it).
                before = await handle.query(OpportunityWorkflow.state)
                again = await touch(handle, start - AT_ONCE)
                assert again.version == before.version
                retried = True
        assert retried
        final = await handle.query(OpportunityWorkflow.state)
        assert final.version == 1 + TOUCHES
        assert final.last_activity_at - final.timeline[0].entered_at >= YEAR - timedelta(days=1)

        stored = await store.read_stream(oid)
        assert [e.version for e in stored] == list(range(1, TOUCHES + 2))  # contiguous, each once
        touches = [e for e in stored if isinstance(e, TouchLogged)]
        assert sorted(int(e.note.split()[-1]) for e in touches) == list(range(1, TOUCHES + 1))
        assert len({e.event_id for e in stored}) == len(stored)

        histories = await runs(env, oid)
        assert len(histories) >= TOUCHES // UPDATES_PER_RUN + 1
        assert all(len(h.events) < 10_240 for h in histories)  # below Temporal's history warning
    replayer = Replayer(
        workflows=[OpportunityWorkflow, AfterSalesWorkflow], data_converter=pydantic_data_converter
    )
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None
    elapsed = time.monotonic() - began
    print(f"{TOUCHES} touches, {len(histories)} runs, {elapsed:.1f} s")
    assert elapsed < 90
