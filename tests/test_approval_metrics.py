"""Approval metrics against values worked out by hand."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.commands import DecideDiscount, RequestDiscount
from domain.events import DomainEvent, EventMeta
from domain.negotiation import decide_discount_request, decide_discount_timeout, decide_discount_vote
from domain.opportunity import OpportunityState, apply, replay
from domain.pipeline import load_catalog
from reports.approvals import approval_report
from reports.period import Period
from reports.projector import Projector
from store.event_store import EventStore
from tests.factories import T0, script

SOFTWARE = load_catalog().get("software")
Step = Callable[[OpportunityState, EventMeta], list[DomainEvent]]
STAGES: list[tuple[float, str]] = [
    (0, "identify"),
    (1, "contact"),
    (2, "needs_analysis"),
    (3, "proposal"),
    (4, "negotiation"),
]


def at(hours: float, tag: str) -> EventMeta:
    return EventMeta(event_id=tag, occurred_at=T0 + timedelta(days=40, hours=hours))


class Deal:
    def __init__(self, oid: str, owner: str) -> None:
        self.events: list[DomainEvent] = script(oid, owner, "software", STAGES)
        state = replay(self.events)
        assert state is not None
        self.state: OpportunityState = state.model_copy(update={"amount": Decimal(200_000)})
        self.n = 0

    def do(self, decide: Step, hours: float) -> "Deal":
        self.n += 1
        produced = decide(self.state, at(hours, f"{self.state.opportunity_id}-x{self.n}"))
        for event in produced:
            self.state = apply(self.state, event)
            self.events.append(event)
        return self


def request(pct: int) -> Step:
    return lambda s, m: decide_discount_request(s, SOFTWARE, RequestDiscount(discount=Decimal(pct)), m)


def approve(who: str) -> Step:
    return lambda s, m: decide_discount_vote(s, SOFTWARE, DecideDiscount(approver=who, approve=True), m)


def timeout() -> Step:
    return lambda s, m: decide_discount_timeout(s, SOFTWARE, m)


@pytest.fixture
async def scenario(store: EventStore) -> EventStore:
    deals = [
        Deal("X", "alice").do(request(10), 0).do(approve("mei.chen"), 6),  # manager decides in 6 h
        Deal("Y", "bob").do(request(12), 0).do(timeout(), 48).do(approve("hua.zhang"), 72),  # escalated
        Deal("Z", "bob").do(request(20), 0).do(timeout(), 48),  # director level, expires at the top
        Deal("W", "alice").do(request(4), 0),  # within the owner's own 5 %
    ]
    # the opening events carry the default amount; only the discount events matter here
    await store.append([e for d in deals for e in d.events])
    await Projector(store).catch_up()  # the report reads the read models
    return store


async def test_approval_metrics(scenario: EventStore) -> None:
    async with scenario.pool.connection() as conn:
        report = await approval_report(conn, Period.until(T0, T0 + timedelta(days=100)), "software")
    assert (report.requests, report.escalated, report.expired, report.rejected) == (3, 1, 1, 0)
    assert report.escalation_rate == pytest.approx(1 / 3)
    times = {t.level: (t.decisions, t.mean_hours) for t in report.decision_times}
    assert times == {"manager": (1, 6.0), "director": (1, 24.0)}
    assert report.granted_team is not None
    assert report.granted_team.deals == 3
    assert report.granted_team.mean_discount == pytest.approx((10 + 12 + 4) / 3)
    assert {rep: (g.deals, g.mean_discount) for rep, g in report.granted_by_rep.items()} == {
        "alice": (2, 7.0),
        "bob": (1, 12.0),
    }


async def test_approval_metrics_as_of_before_the_decisions(scenario: EventStore) -> None:
    async with scenario.pool.connection() as conn:
        report = await approval_report(
            conn, Period(T0, T0 + timedelta(days=100), T0 + timedelta(days=40, hours=1))
        )
    assert (report.requests, report.escalated, report.expired) == (3, 0, 0)
    assert report.decision_times == []
    assert report.granted_team is not None
    assert report.granted_team.deals == 1  # only W's owner grant had happened


async def test_no_requests_no_figures(store: EventStore) -> None:
    async with store.pool.connection() as conn:
        report = await approval_report(conn, Period.until(T0, T0 + timedelta(days=1)))
    assert (report.requests, report.decision_times, report.granted_team, report.granted_by_rep) == (
        0,
        [],
        None,
        {},
    )
    assert report.escalation_rate == 0
