"""Cycle-time metrics against values worked out by hand for a small scenario with known timestamps."""

from datetime import timedelta

import pytest

from reports.cycle_times import CycleTimeReport, cycle_time_report
from reports.period import Period
from reports.projector import Projector
from store.event_store import EventStore
from tests.factories import T0, script

FAR = T0 + timedelta(days=3650)


SCENARIO = [
    *script(
        "A",
        "alice",
        "software",
        [
            (0, "identify"),
            (2, "contact"),
            (5, "needs_analysis"),
            (10, "proposal"),
            (17, "negotiation"),
            (31, "deal"),
            (34, "after_sales"),
        ],
    ),
    *script(
        "B",
        "alice",
        "software",
        [
            (1, "identify"),
            (5, "contact"),
            (9, "needs_analysis"),
            (12, "lost"),
            (20, "reopen"),
            (26, "proposal"),
            (30, "negotiation"),
            (45, "deal"),
        ],
    ),
    *script(
        "C",
        "bob",
        "software",
        [
            (0, "identify"),
            (1, "contact"),
            (3, "needs_analysis"),
            (8, "proposal"),
            (14, "negotiation"),
            (21, "deal"),
        ],
    ),
    *script("D", "bob", "services", [(0, "identify"), (6, "contact"), (8, "lost")]),
]


@pytest.fixture
async def scenario(store: EventStore) -> EventStore:
    await store.append(SCENARIO[::-1])  # insertion order must not matter
    await Projector(store).catch_up()
    return store


async def report(store: EventStore, period: Period, pipeline: str | None = "software") -> CycleTimeReport:
    async with store.pool.connection() as conn:
        return await cycle_time_report(conn, period, pipeline)


async def test_three_cycle_times_team_and_per_rep(scenario: EventStore) -> None:
    r = await report(scenario, Period.until(T0, FAR))
    lead, cycle, total = (r.cycles[m] for m in ("lead_conversion", "sales_cycle", "total_sales"))
    # lead conversion: A 2, B 4, C 1 (D is in the services pipeline)
    assert lead.team is not None
    assert (lead.team.n, lead.team.median) == (3, 2)
    assert lead.team.mean == pytest.approx(7 / 3)
    assert (lead.by_rep["alice"].mean, lead.by_rep["bob"].mean) == (3, 1)
    # sales cycle: A 31-2 = 29, B 45-5 = 40, C 21-1 = 20
    assert cycle.team is not None
    assert (cycle.team.n, cycle.team.median) == (3, 29)
    assert cycle.team.mean == pytest.approx(89 / 3)
    assert cycle.team.p90 == pytest.approx(29 + 0.8 * 11)  # percentile_cont between 29 and 40
    assert cycle.by_rep["alice"].mean == pytest.approx(34.5)
    # total sales time: A 31, B 44, C 21 — and total = lead conversion + sales cycle for each deal
    assert total.team is not None
    assert total.team.median == 31
    assert total.team.mean == pytest.approx(32)
    assert total.by_rep["alice"].mean == lead.by_rep["alice"].mean + cycle.by_rep["alice"].mean


async def test_time_in_stage_counts_every_visit(scenario: EventStore) -> None:
    r = await report(scenario, Period.until(T0, FAR))
    needs = r.stages["needs_analysis"]
    # A 5, B 3 (then lost) and 6 (after reopening), C 5
    assert needs.team is not None
    assert (needs.team.n, needs.team.mean, needs.team.median) == (4, 4.75, 5)
    assert needs.by_rep["alice"].n == 3
    negotiation = r.stages["negotiation"]
    assert negotiation.team is not None
    assert sorted([negotiation.by_rep["alice"].mean, negotiation.by_rep["bob"].mean]) == [7, 14.5]
    assert "after_sales" not in r.stages  # never left, so no finished visit


async def test_all_pipelines(scenario: EventStore) -> None:
    r = await report(scenario, Period.until(T0, FAR), pipeline=None)
    lead = r.cycles["lead_conversion"].team
    assert lead is not None
    assert (lead.n, lead.mean, lead.median) == (4, 3.25, 3)  # D's 6 days join in
    contact = r.stages["contact"].team
    assert contact is not None
    assert contact.n == 4  # D's contact visit ended when it was lost (2 days)


async def test_as_of_a_past_date_sees_only_what_had_happened(scenario: EventStore) -> None:
    r = await report(scenario, Period(start=T0, end=FAR, as_of=T0 + timedelta(days=25)))
    cycle = r.cycles["sales_cycle"].team
    assert cycle is not None
    assert (cycle.n, cycle.mean) == (1, 20)  # only C had closed by day 25
    needs = r.stages["needs_analysis"].team
    assert needs is not None
    assert needs.n == 3  # B's second visit (days 20-26) was still open on day 25


async def test_a_duration_belongs_to_the_period_it_ends_in(scenario: EventStore) -> None:
    r = await report(scenario, Period.until(T0 + timedelta(days=3), T0 + timedelta(days=40)))
    lead = r.cycles["lead_conversion"].team
    cycle = r.cycles["sales_cycle"].team
    assert lead is not None
    assert cycle is not None
    assert (lead.n, lead.mean) == (1, 4)  # only B's contact (day 5) falls in [3, 40)
    assert (cycle.n, cycle.mean) == (2, 24.5)  # A 29 and C 20; B closed on day 45


async def test_empty_period_gives_no_figures(scenario: EventStore) -> None:
    r = await report(scenario, Period.until(FAR, FAR + timedelta(days=1)))
    assert r.cycles == {}
    assert r.stages == {}
