"""The opportunity workflow on the time-skipping Temporal server, writing to real PostgreSQL."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowFailureError, WorkflowQueryFailedError
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient, DealRefused
from domain.commands import AdvanceStage, MarkLost, Reopen
from domain.opportunity import replay
from domain.stages import STAGE_ORDER, LossReason, Stage
from store.event_store import EventStore
from tests.factories import advance_to, open_cmd, sign_off, through_all_stages


def new_id() -> str:
    return f"opp-{uuid.uuid4().hex[:10]}"


async def test_happy_path_through_all_seven_stages(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = new_id()
    handle = await deals.open(open_cmd(oid))
    for days, stage in zip([2, 5, 10, 7, 14, 3], STAGE_ORDER[1:], strict=True):
        await time_skipping_env.sleep(timedelta(days=days))
        if stage is Stage.DEAL:
            await sign_off(deals, oid)
        state = await deals.advance(oid, advance_to(stage))
        assert state.stage is stage
    final = await handle.result()
    assert final.stage is Stage.AFTER_SALES
    assert final.version == 11  # 7 moves, the close date the first set, the contract's submission,
    # clause checks and sign-off

    gaps = [b.entered_at - a.entered_at for a, b in zip(final.timeline, final.timeline[1:], strict=False)]
    assert [round(g / timedelta(days=1), 2) for g in gaps] == [2, 5, 10, 7, 14, 3]
    stored = await store.read_stream(oid)
    assert [e.version for e in stored] == list(range(1, 12))
    assert replay(stored) == final  # the store and the workflow agree to the last field


async def test_lost_then_reopened_into_the_stage_it_left(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = new_id()
    await deals.open(open_cmd(oid))
    await deals.advance(oid, advance_to(Stage.CONTACT))
    await deals.advance(oid, advance_to(Stage.NEEDS_ANALYSIS))
    lost = await deals.mark_lost(oid, MarkLost(reason=LossReason.NO_BUDGET, note="frozen until Q3"))
    assert lost.status == "lost"
    assert lost.lost is not None
    assert lost.lost.reason is LossReason.NO_BUDGET
    await time_skipping_env.sleep(timedelta(days=30))
    reopened = await deals.reopen(oid, Reopen())
    assert (reopened.status, reopened.stage) == ("needs_analysis", Stage.NEEDS_ANALYSIS)
    back = await deals.advance(oid, advance_to(Stage.PROPOSAL))
    assert [v.stage for v in back.timeline] == [
        Stage.IDENTIFY,
        Stage.CONTACT,
        Stage.NEEDS_ANALYSIS,
        Stage.NEEDS_ANALYSIS,
        Stage.PROPOSAL,
    ]
    stored = await store.read_stream(oid)
    assert [e.type for e in stored] == [
        "OpportunityOpened",
        "StageAdvanced",
        "ExpectedCloseDateSet",  # the move's facts set it
        "StageAdvanced",
        "OpportunityLost",
        "OpportunityReopened",
        "StageAdvanced",
    ]
    assert replay(stored) == await deals.show(oid)


async def _refused(call: object, rule: str) -> None:
    with pytest.raises(DealRefused) as err:
        await call  # type: ignore[misc]
    assert err.value.rule == rule, err.value.message


async def test_refused_moves_leave_no_trace(deals: DealClient, store: EventStore) -> None:
    oid = new_id()
    await deals.open(open_cmd(oid))
    await deals.advance(oid, AdvanceStage(to_stage=Stage.CONTACT))  # first_touch not yet recorded
    before = await deals.show(oid)

    await _refused(deals.advance(oid, advance_to(Stage.PROPOSAL)), "forward-one-stage")
    await _refused(
        deals.advance(oid, advance_to(Stage.NEEDS_ANALYSIS, amount=Decimal(-5))), "amount-not-negative"
    )
    await _refused(deals.advance(oid, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS)), "exit-criteria")
    await _refused(deals.reopen(oid, Reopen()), "reopen-only-lost")
    assert await deals.show(oid) == before

    await deals.mark_lost(oid, MarkLost(reason=LossReason.PRICE))
    lost = await deals.show(oid)
    await _refused(deals.advance(oid, advance_to(Stage.NEEDS_ANALYSIS)), "not-while-lost")
    await _refused(deals.mark_lost(oid, MarkLost(reason=LossReason.PRICE)), "not-while-lost")
    assert await deals.show(oid) == lost
    assert [e.version for e in await store.read_stream(oid)] == [1, 2, 3]


async def test_refused_starts_start_nothing(deals: DealClient, store: EventStore) -> None:
    unknown, negative = new_id(), new_id()
    await _refused(deals.open(open_cmd(unknown, pipeline="hardware")), "unknown-pipeline")
    await _refused(deals.open(open_cmd(negative, amount=Decimal(-1))), "amount-not-negative")
    await _refused(deals.open(open_cmd(negative, owner="")), "lead-recorded")
    await _refused(deals.show(negative), "known-opportunity")
    # An unknown pipeline is the worker's verdict (its catalog, not the caller's): nothing stored.
    assert await store.stream_versions([unknown, negative]) == {}


async def test_second_start_with_the_same_id_is_refused(deals: DealClient, store: EventStore) -> None:
    oid = new_id()
    handle = await deals.open(open_cmd(oid))
    await _refused(deals.open(open_cmd(oid, owner="bob")), "unique-opportunity-id")
    await through_all_stages(deals, oid)
    await handle.result()
    # still refused once the first workflow has completed
    await _refused(deals.open(open_cmd(oid, owner="bob")), "unique-opportunity-id")
    assert len(await store.read_stream(oid)) == 11
    assert (await deals.show(oid)).owner == "alice"


async def test_a_workflow_started_with_a_bad_lead_fails_without_events(
    time_skipping_env: WorkflowEnvironment, deals: DealClient, store: EventStore
) -> None:
    """Defence in depth: a caller that skips DealClient's checks still gets no event."""
    from domain.pipeline import load_catalog
    from workflows.messages import StartOpportunity
    from workflows.opportunity import OpportunityWorkflow

    oid = new_id()
    start = StartOpportunity(
        command=open_cmd(oid, amount=Decimal(-3)), pipeline=load_catalog().get("software")
    )
    with pytest.raises(WorkflowFailureError) as err:
        await time_skipping_env.client.execute_workflow(
            OpportunityWorkflow.run, start, id=oid, task_queue=deals._task_queue
        )
    assert "amount-not-negative" in str(err.value.cause)
    assert await store.stream_versions([oid]) == {}
    with pytest.raises(WorkflowQueryFailedError, match="amount-not-negative"):
        await time_skipping_env.client.get_workflow_handle(oid).query(OpportunityWorkflow.state)
