"""The waterfall and the forecast by category on four deals worked out by hand (pipeline
`software`: identify 5 %, contact 10 %, needs_analysis 25 %, proposal 50 % best case, negotiation
75 % commit). Every event happens at 09:00 UTC on the day given (2026); the waterfall runs from
February 1st to March 1st (midnight).

    A an.li   100,000  opened 01-10, contact 01-12 closing 03-31; close date 04-30 on 02-05 and
                       05-31 on 02-12 (two pushes, 61 days); needs_analysis 02-20
    B an.li    50,000  opened 01-15, lost 02-03, reopened 02-10, lost 02-25
    C bo.wang 200,000  opened 01-20, contact 01-22 closing 06-30, needs 01-25, proposal 02-10 quoting
                       180,000; close date 03-15 on 02-15 (a pull-in); category commit on 02-16
    D bo.wang  80,000  opened 02-10, contact 02-11 closing 02-28, needs 02-12, proposal 02-13,
                       negotiation 02-14 quoting 90,000, won 02-20 at 95,000
"""

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from domain.commands import AdvanceStage, MarkLost, Reopen, SetExpectedCloseDate, SetForecastCategory
from domain.events import DomainEvent, EventMeta
from domain.forecast import decide_close_date, decide_forecast_category, decide_move
from domain.opportunity import OpportunityState, apply, decide_lose, decide_open, decide_reopen
from domain.stages import STAGE_ORDER, ForecastCategory, LossReason
from reports.forecast_categories import forecast_by_category
from reports.projector import Projector
from reports.waterfall import PushedDeal, waterfall
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd, sign_contract
from tests.random_lives import CATALOG

SOFTWARE = CATALOG.get("software")
FACTS = {k: v for k, v in ALL_FACTS.items() if k != "expected_close_date"}
Step = Callable[[OpportunityState, EventMeta], list[DomainEvent]]


def day(month: int, d: int, hour: int = 9) -> datetime:
    return datetime(2026, month, d, hour, tzinfo=UTC)


def move(amount: int | None = None, closing: str | None = None) -> Step:
    def decide(s: OpportunityState, m: EventMeta) -> list[DomainEvent]:
        facts = {**FACTS, **({"expected_close_date": closing} if closing else {})}
        nxt = STAGE_ORDER[s.stage.position + 1]
        cmd = AdvanceStage(to_stage=nxt, facts=facts, amount=None if amount is None else D(amount))
        return decide_move(s, SOFTWARE, cmd, m)

    return decide


def close_date(text: str) -> Step:
    return lambda s, m: [decide_close_date(s, SetExpectedCloseDate(expected_close_date=text), m)]


def life(
    oid: str, owner: str, amount: int, opened: datetime, *steps: tuple[datetime, Step]
) -> list[DomainEvent]:
    meta = EventMeta(event_id=f"{oid}-0", occurred_at=opened)
    first = decide_open(open_cmd(oid, owner=owner, amount=D(amount)), SOFTWARE, meta)
    state, events = apply(None, first), list[DomainEvent]([first])
    for n, (at, step) in enumerate(steps, start=1):
        meta = EventMeta(event_id=f"{oid}-{n}", occurred_at=at)
        if step is WIN:
            state, signed = sign_contract(state, SOFTWARE, meta)
            events += signed
            step = move(95_000)
        for event in step(state, meta):
            state = apply(state, event)
            events.append(event)
    return events


WIN: Step = move()
LOSE: Step = lambda s, m: [decide_lose(s, MarkLost(reason=LossReason.PRICE), m)]  # noqa: E731
REOPEN: Step = lambda s, m: [decide_reopen(s, Reopen(), m)]  # noqa: E731
COMMIT: Step = lambda s, m: [decide_forecast_category(s, SetForecastCategory(category="commit"), m)]  # noqa: E731


@pytest.fixture
async def four_deals(store: EventStore) -> EventStore:
    for events in (
        life("A", "an.li", 100_000, day(1, 10), (day(1, 12), move(closing="2026-03-31")),
             (day(2, 5), close_date("2026-04-30")), (day(2, 12), close_date("2026-05-31")),
             (day(2, 20), move())),
        life("B", "an.li", 50_000, day(1, 15), (day(2, 3), LOSE), (day(2, 10), REOPEN), (day(2, 25), LOSE)),
        life("C", "bo.wang", 200_000, day(1, 20), (day(1, 22), move(closing="2026-06-30")),
             (day(1, 25), move()), (day(2, 10), move(180_000)), (day(2, 15), close_date("2026-03-15")),
             (day(2, 16), COMMIT)),
        life("D", "bo.wang", 80_000, day(2, 10), (day(2, 11), move(closing="2026-02-28")),
             (day(2, 12), move()), (day(2, 13), move()), (day(2, 14), move(90_000)), (day(2, 20), WIN)),
    ):  # fmt: skip
        await store.append(events)
    await Projector(store).catch_up()
    return store


async def test_the_waterfall_balances_by_hand(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        report = await waterfall(conn, day(2, 1, 0), day(3, 1, 0), "software")
    team = report.team
    figures = {name: (team.flow(name).count, team.flow(name).value) for name in
               ("start", "new", "reopened", "amount", "won", "lost", "end")}  # fmt: skip
    assert figures == {
        "start": (3, D(350_000)),  # A, B, C
        "new": (1, D(80_000)),  # D
        "reopened": (1, D(50_000)),  # B
        "amount": (3, D(-5_000)),  # C -20,000; D +10,000, then +5,000 as it was won
        "won": (1, D(95_000)),  # D
        "lost": (2, D(100_000)),  # B twice
        "end": (2, D(280_000)),  # A 100,000 + C 180,000
    }
    assert 350_000 + 80_000 + 50_000 - 5_000 - 95_000 - 100_000 == 280_000  # the identity, by hand
    assert team.balances
    # moves within: A to needs; C to proposal; D through contact, needs, proposal, negotiation
    assert (team.advanced.count, team.advanced.value) == (6, D(610_000))
    assert (team.pushed_out.count, team.pushed_out.value) == (2, D(200_000))  # A, twice
    assert (team.pulled_in.count, team.pulled_in.value) == (1, D(180_000))  # C
    assert report.most_pushed == [PushedDeal("A", "an.li", "software", 2, 61, date(2026, 5, 31))]
    an, bo = report.by_rep["an.li"], report.by_rep["bo.wang"]
    assert (an.start.value, an.reopened.value, an.lost.value, an.end.value) == (
        D(150_000), D(50_000), D(100_000), D(100_000)
    )  # fmt: skip
    assert (bo.start.value, bo.new.value, bo.amount.value, bo.won.value, bo.end.value) == (
        D(200_000), D(80_000), D(-5_000), D(95_000), D(180_000)
    )  # fmt: skip
    assert all(w.balances for w in (an, bo, report.by_pipeline["software"]))


async def test_the_forecast_by_close_month_and_category(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        march = await forecast_by_category(conn, CATALOG, day(3, 1, 0), "software")
        mid_feb = await forecast_by_category(conn, CATALOG, day(2, 15, 12))
    cells = {(m, c.value): (x.deals, x.amount, x.weighted) for (m, c), x in march.cells.items()}
    assert cells == {
        ("2026-05", "pipeline"): (1, D(100_000), D(25_000)),  # A in needs_analysis, pushed to May
        ("2026-03", "commit"): (1, D(180_000), D(90_000)),  # C: its own category, pulled in
    }
    cells = {(m, c.value): (x.deals, x.amount, x.weighted) for (m, c), x in mid_feb.cells.items()}
    assert cells == {
        ("2026-05", "pipeline"): (1, D(100_000), D(10_000)),  # A in contact, pushed to May on 02-12
        (None, "pipeline"): (1, D(50_000), D(2_500)),  # B reopened into identify, no date
        ("2026-03", "best_case"): (1, D(180_000), D(90_000)),  # C in proposal: its stage's
        ("2026-02", "commit"): (1, D(90_000), D(67_500)),  # D in negotiation
    }
    assert mid_feb.months == ["2026-02", "2026-03", "2026-05", None]
    assert mid_feb.by_category[ForecastCategory.PIPELINE].amount == D(150_000)
    assert (mid_feb.total.deals, mid_feb.total.amount) == (4, D(420_000))
