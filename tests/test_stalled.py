"""Stalled deals and escalation counts from the event store."""

from datetime import timedelta

from domain.commands import LogTouch
from domain.events import DomainEvent, EventMeta
from domain.follow_up import decide_stall, decide_touch
from domain.opportunity import replay
from domain.pipeline import load_catalog
from reports.period import Period
from reports.projector import Projector
from reports.stalled import Escalations, escalations, stalled_deals
from store.event_store import EventStore
from tests.factories import T0, script

CATALOG = load_catalog()
SOFTWARE = CATALOG.get("software")
assert SOFTWARE.follow_up is not None
POLICY = SOFTWARE.follow_up


def day(n: float, tag: str) -> EventMeta:
    return EventMeta(event_id=tag, occurred_at=T0 + timedelta(days=n))


def with_touch(events: list[DomainEvent], n: float) -> list[DomainEvent]:
    state = replay(events)
    assert state is not None
    return [
        *events,
        *decide_touch(state, LogTouch(kind="call", by=state.owner), day(n, f"{state.opportunity_id}-t")),
    ]


def with_nags(events: list[DomainEvent], *days: float) -> list[DomainEvent]:
    for n in days:
        state = replay(events)
        assert state is not None
        events = [*events, *decide_stall(state, SOFTWARE, POLICY, day(n, f"{state.opportunity_id}-n{n}"))]
    return events


async def test_stalled_deals_and_escalations(store: EventStore) -> None:
    a = with_nags(
        script("A", "an.li", "software", [(0, "identify"), (1, "contact")]), 11, 21
    )  # idle since day 1
    b = with_touch(
        script("B", "bo.wang", "software", [(0, "identify"), (1, "contact")]), 10
    )  # touched day 10
    c = script(
        "C", "an.li", "software", [(0, "identify"), (1, "contact"), (2, "lost")]
    )  # lost: never stalled
    await store.append([*a, *b, *c])
    await Projector(store).catch_up()  # the reports read the read models
    async with store.pool.connection() as conn:
        found = await stalled_deals(conn, CATALOG, T0 + timedelta(days=15))
        later = await stalled_deals(conn, CATALOG, T0 + timedelta(days=25))
        counted = await escalations(conn, Period.until(T0, T0 + timedelta(days=30)))
    assert [(d.opportunity_id, d.stage, d.idle_days, d.sla_days) for d in found] == [
        ("A", "contact", 14.0, 10)
    ]
    # the reminders on A are not activity; B's call on day 10 made it idle for 15 days by day 25
    assert [(d.opportunity_id, d.idle_days) for d in later] == [("A", 24.0), ("B", 15.0)]
    assert counted == [Escalations(owner="an.li", stage="contact", count=1)]
