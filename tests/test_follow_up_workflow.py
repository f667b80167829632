"""Stage SLAs on the time-skipping server: reminders, escalation, reset by activity, the outbox."""

import uuid
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from activities.notifications import OutboxNotifier
from app.deal_client import DealClient
from domain.commands import AdvanceStage, LogTouch, MarkLost
from domain.events import StallEscalated, StallReminded
from domain.stages import LossReason, Stage
from store.event_store import EventStore
from tests.factories import open_cmd
from workflows.messages import Notification

CONTACT_SLA = timedelta(days=10)  # software pipeline; escalation at twice that


async def in_contact(deals: DealClient, owner: str = "an.li") -> str:
    oid = f"opp-{uuid.uuid4().hex[:10]}"
    await deals.open(open_cmd(oid, owner=owner))
    await deals.advance(oid, AdvanceStage(to_stage=Stage.CONTACT))
    return oid


async def outbox(store: EventStore, oid: str) -> list[tuple[str, str, str]]:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT recipient, kind, key FROM notifications WHERE stream_id = %s ORDER BY created_at",
            (oid,),
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def test_idle_deal_reminds_the_owner_then_escalates_to_their_manager(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await in_contact(deals)
    await time_skipping_env.sleep(CONTACT_SLA - timedelta(hours=1))
    assert (await deals.show(oid)).stall_level == 0
    await time_skipping_env.sleep(timedelta(hours=2))
    assert (await deals.show(oid)).stall_level == 1
    await time_skipping_env.sleep(CONTACT_SLA)
    state = await deals.show(oid)
    assert state.stall_level == 2
    await time_skipping_env.sleep(timedelta(days=60))  # nothing more once the manager knows
    assert (await deals.show(oid)).version == state.version

    nags = [e for e in await store.read_stream(oid) if isinstance(e, StallReminded | StallEscalated)]
    assert [(e.type, e.recipient, round(e.idle_days)) for e in nags] == [
        ("StallReminded", "an.li", 10),
        ("StallEscalated", "mei.chen", 20),  # an.li reports to mei.chen
    ]
    assert await outbox(store, oid) == [
        ("an.li", "StallReminded", nags[0].event_id),
        ("mei.chen", "StallEscalated", nags[1].event_id),
    ]


async def test_a_logged_touch_restarts_the_idle_clock(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await in_contact(deals)
    await time_skipping_env.sleep(timedelta(days=8))
    touched = await deals.log_touch(oid, LogTouch(kind="call", by="an.li", note="budget talk next week"))
    await time_skipping_env.sleep(timedelta(days=8))  # 16 days in contact, 8 since the call
    assert (await deals.show(oid)).stall_level == 0
    await time_skipping_env.sleep(timedelta(days=3))
    (reminder,) = [e for e in await store.read_stream(oid) if isinstance(e, StallReminded)]
    assert abs(reminder.occurred_at - touched.last_activity_at - CONTACT_SLA) < timedelta(seconds=1)
    # a move is activity too: the next stage's clock starts from it
    moved = await deals.advance(
        oid, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS, facts={"first_touch": "call"})
    )
    assert (moved.stall_level, moved.last_activity_at) == (0, moved.timeline[-1].entered_at)


async def test_lost_deals_are_not_nagged(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await in_contact(deals)
    await deals.mark_lost(oid, MarkLost(reason=LossReason.NO_DECISION))
    await time_skipping_env.sleep(timedelta(days=90))
    assert [e.type for e in await store.read_stream(oid)][-1] == "OpportunityLost"
    assert await outbox(store, oid) == []


async def test_sending_a_notification_twice_stores_it_once(store: EventStore) -> None:
    notifier = OutboxNotifier(store)
    note = Notification(key="evt-1", recipient="an.li", kind="StallReminded", stream_id="o-1", message="hi")
    assert await notifier.send(note) is True
    assert await notifier.send(note) is False
    assert await outbox(store, "o-1") == [("an.li", "StallReminded", "evt-1")]
