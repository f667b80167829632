"""The sales brief against figures worked out by hand, its periods, and how it is kept."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.after_sales import (
    AfterSalesPolicy,
    DealWon,
    RecordFeedback,
    apply_after_sales,
    decide_feedback,
    decide_revisit,
    decide_start,
)
from domain.events import DomainEvent, EventMeta
from domain.sales_brief import period_bounds
from reports.projector import Projector
from reports.sales_brief import compile_brief
from store.briefs import save_brief, stored_briefs
from store.event_store import EventStore
from tests.factories import T0, script

WEEK = T0.date()  # Monday 2026-01-05
TO_DEAL = ["contact", "needs_analysis", "proposal", "negotiation", "deal"]


def won(oid: str, owner: str, company: str, opened: float, won_on: float) -> list[DomainEvent]:
    steps = [(opened, "identify"), *[(won_on - 0.4 + i * 0.1, s) for i, s in enumerate(TO_DEAL)]]
    return script(oid, owner, "software", steps, company=company)


def after_sales_of_a() -> list[DomainEvent]:
    """A was won on day 3: a revisit two days later, answered with a 4 the day after."""
    policy = AfterSalesPolicy(revisit_after_days=(2,))
    at = T0 + timedelta(days=3)
    events: list[DomainEvent] = [
        decide_start(
            DealWon(
                deal_id="A",
                pipeline="software",
                owner="alice",
                customer="Acme",
                contact_person="Wang Li",
                amount=Decimal(100000),
                won_at=at,
            ),
            _meta(3, "s"),
        )
    ]
    state = apply_after_sales(None, events[0])
    for event in decide_revisit(state, policy, _meta(5, "r")):
        state = apply_after_sales(state, event)
        events.append(event)
    events.append(decide_feedback(state, RecordFeedback(score=4, by="alice"), _meta(6, "f")))
    return events


def _meta(day: float, tag: str) -> EventMeta:
    return EventMeta(event_id=f"A.after-sales-{tag}", occurred_at=T0 + timedelta(days=day))


SCENARIO = [
    *won("A", "alice", "Acme", opened=0, won_on=3),  # new this week, won this week: a new customer
    *script("B", "bob", "software", [(1, "identify"), (4, "lost")]),  # new and lost (price) this week
    *won("C", "alice", "Beta", opened=-10, won_on=5),  # won this week, but Beta is no new customer:
    *won("D", "bob", "Beta", opened=-30, won_on=-20),  # ... D won them three weeks earlier
    *script("E", "bob", "software", [(8, "identify")]),  # next week
    *after_sales_of_a(),
]


@pytest.fixture
async def loaded(store: EventStore) -> EventStore:
    await store.append(SCENARIO)
    await Projector(store).catch_up()
    return store


async def test_the_weekly_brief_matches_the_hand_count(loaded: EventStore) -> None:
    async with loaded.pool.connection() as conn:
        brief = await compile_brief(conn, "week", WEEK, WEEK + timedelta(days=7))
    alice, bob = brief.per_rep["alice"], brief.per_rep["bob"]
    assert (alice.opened, alice.won, alice.won_amount, alice.lost, alice.new_customers) == (
        1,
        2,
        Decimal(200000),
        0,
        1,
    )
    assert (bob.opened, bob.won, bob.lost, bob.new_customers) == (1, 0, 1, 0)
    assert (alice.revisits, alice.revisits_missed, alice.feedback, alice.mean_feedback) == (1, 0, 1, 4.0)
    assert (brief.team.opened, brief.team.won, brief.team.lost, brief.team.won_amount) == (
        2,
        2,
        1,
        Decimal(200000),
    )
    assert brief.lost_by_reason == {"price": 1}
    assert brief.new_customers == ["Acme"]


async def test_a_brief_three_weeks_back_sees_beta_as_new(loaded: EventStore) -> None:
    start = WEEK - timedelta(days=21)
    async with loaded.pool.connection() as conn:
        brief = await compile_brief(conn, "week", start, start + timedelta(days=7))
    assert brief.new_customers == ["Beta"]
    assert brief.per_rep["bob"].won == 1


async def test_a_pipeline_filter_leaves_other_pipelines_out(loaded: EventStore) -> None:
    async with loaded.pool.connection() as conn:
        brief = await compile_brief(conn, "week", WEEK, WEEK + timedelta(days=7), pipeline="services")
    assert brief.per_rep == {}
    assert brief.team.opened == 0


async def test_briefs_are_stored_once_per_period_and_read_back(loaded: EventStore) -> None:
    async with loaded.pool.connection() as conn:
        brief = await compile_brief(conn, "week", WEEK, WEEK + timedelta(days=7))
        await save_brief(conn, brief)
        await save_brief(conn, brief)  # compiled again: replaced, not doubled
        earlier = await compile_brief(conn, "week", WEEK - timedelta(days=7), WEEK)
        await save_brief(conn, earlier)
        latest = await stored_briefs(conn, "week")
        assert [b.start for b in latest] == [WEEK]
        assert latest[0].model_dump(exclude={"compiled_at"}) == brief.model_dump(exclude={"compiled_at"})
        again = await stored_briefs(conn, "week", start=WEEK - timedelta(days=7))
        assert [b.start for b in again] == [WEEK - timedelta(days=7)]
        assert await stored_briefs(conn, "month") == []


@pytest.mark.parametrize(
    ("period", "start", "now", "expected"),
    [
        ("week", None, datetime(2026, 11, 23, 7, tzinfo=UTC), (date(2026, 11, 16), date(2026, 11, 23))),
        ("week", None, datetime(2026, 11, 26, tzinfo=UTC), (date(2026, 11, 16), date(2026, 11, 23))),
        ("week", date(2026, 1, 5), datetime(2026, 11, 23, tzinfo=UTC), (date(2026, 1, 5), date(2026, 1, 12))),
        ("month", None, datetime(2026, 3, 1, 7, tzinfo=UTC), (date(2026, 2, 1), date(2026, 3, 1))),
        ("month", date(2026, 12, 1), datetime(2026, 3, 1, tzinfo=UTC), (date(2026, 12, 1), date(2027, 1, 1))),
    ],
)
def test_periods(period: str, start: date | None, now: datetime, expected: tuple[date, date]) -> None:
    assert period_bounds(period, start, now) == expected


@pytest.mark.parametrize(
    ("period", "start"), [("week", date(2026, 1, 6)), ("month", date(2026, 1, 2)), ("year", None)]
)
def test_bad_periods_are_refused(period: str, start: date | None) -> None:
    with pytest.raises(ValueError, match=r"Monday|1st|'week' or 'month'"):
        period_bounds(period, start, datetime(2026, 3, 1, tzinfo=UTC))
