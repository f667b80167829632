"""After-sales on the time-skipping server: revisits on the right days, feedback, missed revisits,
renewals, and five simulated years of continue-as-new with nothing lost and a short history."""

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient, DealRefused
from domain.after_sales import (
    AfterSalesPolicy,
    CloseRelationship,
    OpenRenewal,
    RecordFeedback,
    RelationshipState,
    RevisitStatus,
    apply_after_sales,
    relationship_id,
)
from domain.events import DomainEvent
from domain.pipeline import load_catalog
from domain.stages import Stage
from store.event_store import EventStore
from tests.conftest import TrackingDealClient
from tests.factories import open_cmd, relationship_when, through_all_stages

POLICY = load_catalog().get("software").after_sales
assert POLICY is not None
FIVE_YEARS = timedelta(days=5 * 365 + 1)
# The history of the relationship's current run stays under this many events, however long it lives.
HISTORY_BOUND = 200


async def won_deal(deals: DealClient) -> tuple[str, datetime]:
    oid = f"opp-{uuid.uuid4().hex[:10]}"
    await deals.open(open_cmd(oid, owner="an.li"))
    await through_all_stages(deals, oid)
    state = await deals.show(oid)
    won_at = next(v.entered_at for v in state.timeline if v.stage is Stage.DEAL)
    return oid, won_at


async def sleep_until(env: WorkflowEnvironment, at: datetime) -> None:
    now = await env.get_current_time()
    if at > now:
        await env.sleep(at - now)


async def relationship_stream(store: EventStore, oid: str) -> RelationshipState:
    state: RelationshipState | None = None
    events: list[DomainEvent] = await store.read_stream(relationship_id(oid))
    for event in events:
        state = apply_after_sales(state, event)
    assert state is not None
    return state


async def revisit_tasks(store: EventStore, oid: str) -> list[str]:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT message FROM notifications WHERE stream_id = %s AND kind = 'RevisitDue'"
            " ORDER BY created_at",
            (relationship_id(oid),),
        )
        return [str(r[0]) for r in await cur.fetchall()]


async def test_revisits_come_due_on_the_configured_days(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid, won_at = await won_deal(deals)
    started = await relationship_when(deals, oid, lambda s: s.version >= 1)
    assert (started.customer, started.owner, started.won_at) == ("Acme", "an.li", won_at)

    await sleep_until(time_skipping_env, won_at + timedelta(days=7) - timedelta(hours=1))
    assert (await deals.relationship(oid)).revisits == []

    await sleep_until(time_skipping_env, won_at + timedelta(days=7, hours=1))
    state = await relationship_when(deals, oid, lambda s: len(s.revisits) == 1)
    assert state.revisits[0].due_at == won_at + timedelta(days=7)
    await relationship_when(deals, oid, lambda s: True)
    tasks = await revisit_tasks(store, oid)
    assert len(tasks) == 1
    assert "revisit 1 of Acme" in tasks[0]

    await sleep_until(time_skipping_env, won_at + timedelta(days=30, hours=1))
    state = await relationship_when(deals, oid, lambda s: len(s.revisits) == 2)
    assert [r.due_at - won_at for r in state.revisits] == [timedelta(days=7), timedelta(days=30)]
    assert [r.status for r in state.revisits] == [RevisitStatus.MISSED, RevisitStatus.OPEN]
    assert await relationship_stream(store, oid) == state


async def test_feedback_is_recorded_and_refused_when_out_of_place(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid, won_at = await won_deal(deals)
    await relationship_when(deals, oid, lambda s: s.version >= 1)
    with pytest.raises(DealRefused) as err:
        await deals.record_feedback(oid, RecordFeedback(score=4, by="an.li"))
    assert err.value.rule == "revisit-due"

    await sleep_until(time_skipping_env, won_at + timedelta(days=7, hours=2))
    await relationship_when(deals, oid, lambda s: len(s.revisits) == 1)
    state = await deals.record_feedback(oid, RecordFeedback(score=4, comment="smooth rollout", by="an.li"))
    assert (state.revisits[0].status, state.revisits[0].score) == (RevisitStatus.ANSWERED, 4)
    for cmd, rule in [
        (RecordFeedback(score=9, by="an.li"), "feedback-score"),
        (RecordFeedback(score=5, by="an.li"), "revisit-open"),
    ]:
        with pytest.raises(DealRefused) as err:
            await deals.record_feedback(oid, cmd)
        assert err.value.rule == rule
    assert await relationship_stream(store, oid) == await deals.relationship(oid)


async def test_a_revisit_opens_a_renewal_linked_to_the_customer(
    deals: TrackingDealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid, won_at = await won_deal(deals)
    await sleep_until(time_skipping_env, won_at + timedelta(days=30, hours=2))
    await relationship_when(deals, oid, lambda s: len(s.revisits) == 2)
    state = await deals.open_renewal(oid, OpenRenewal(amount=Decimal(60000), by="an.li", note="more seats"))
    renewal_id = state.renewals[0]
    deals.started.append(renewal_id)
    assert renewal_id == f"{oid}-renewal-1"
    renewal = await deals.show(renewal_id)
    assert (renewal.company, renewal.owner, renewal.source) == ("Acme", "an.li", "renewal")
    assert (renewal.renewal_of, renewal.amount, renewal.stage) == (oid, Decimal(60000), Stage.IDENTIFY)
    async with asyncio.timeout(10):  # the renewal's workflow stores its first event a moment later
        while not (stored := await store.read_stream(renewal_id)):  # noqa: ASYNC110 - polling the store
            await asyncio.sleep(0.05)
    assert getattr(stored[0], "renewal_of", None) == oid


async def test_a_closed_relationship_ends_its_workflow(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid, _ = await won_deal(deals)
    await relationship_when(deals, oid, lambda s: s.version >= 1)
    closed = await deals.close_relationship(oid, CloseRelationship(reason="company acquired", by="mei.chen"))
    assert closed.closed == "company acquired"
    handle = time_skipping_env.client.get_workflow_handle(relationship_id(oid))
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    assert [e.type for e in await store.read_stream(relationship_id(oid))][-1] == "RelationshipClosed"


async def test_five_years_of_revisits_continue_as_new_and_lose_nothing(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    assert isinstance(POLICY, AfterSalesPolicy)
    oid, won_at = await won_deal(deals)
    due = [POLICY.due_at(won_at, n) for n in range(1, 40)]
    due = [d for d in due if d <= won_at + FIVE_YEARS]
    assert len(due) == 12  # 7, 30, 90 days, then every 180 days up to 1,710 days
    for number, at in enumerate(due, start=1):
        await sleep_until(time_skipping_env, at + timedelta(hours=1))
        await relationship_when(deals, oid, lambda s, n=number: len(s.revisits) == n)  # type: ignore[misc]
        if number % 3:  # every third revisit goes unanswered
            await deals.record_feedback(
                oid, RecordFeedback(score=1 + number % 5, comment=f"#{number}", by="an.li")
            )
    await sleep_until(time_skipping_env, won_at + FIVE_YEARS)

    state = await deals.relationship(oid)
    assert [r.due_at for r in state.revisits] == due
    for revisit in state.revisits[:-1]:
        if revisit.number % 3:
            assert (revisit.status, revisit.score) == (RevisitStatus.ANSWERED, 1 + revisit.number % 5)
            assert revisit.comment == f"#{revisit.number}"
        else:
            assert revisit.status is RevisitStatus.MISSED
    assert await relationship_stream(store, oid) == state  # the store saw every event, once
    assert len(await revisit_tasks(store, oid)) == 12

    # Follow the chain of runs back from the current one: one run per revisit, each one short.
    lengths = []
    run_id: str | None = None
    while True:
        handle = time_skipping_env.client.get_workflow_handle(relationship_id(oid), run_id=run_id)
        history = await handle.fetch_history()
        lengths.append(len(history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            break
        run_id = started.continued_execution_run_id
    assert len(lengths) == 13  # the first run, and one more after each of the 12 revisits
    assert max(lengths) < HISTORY_BOUND, lengths
