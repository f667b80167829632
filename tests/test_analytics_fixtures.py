"""Velocity, the backtest, calibration, open age and the trend on four deals whose figures are
worked out by hand below (pipeline `software`: identify 5 %, contact 10 %, needs_analysis 25 %,
proposal 50 %, negotiation 75 %). Every event happens at 09:00 UTC on the day given.

    A an.li   100,000  opened 01-10, contact 01-12, needs 01-20, proposal 02-05, negotiation 02-10,
                       won 02-20
    B an.li    50,000  opened 01-15, contact 01-25, lost 02-03 (price)
    C bo.wang 200,000  opened 01-20, contact 01-22, needs 02-15; open since
    D bo.wang  80,000  opened 02-10, contact 02-11, needs 02-12, proposal 02-13 quoting 90,000,
                       negotiation 02-14, won 03-03
"""

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from decimal import Decimal as D

import pytest

from cli.main import main
from domain.commands import MarkLost
from domain.events import DomainEvent, EventMeta
from domain.opportunity import OpportunityState, apply, decide_advance, decide_lose, decide_open
from domain.stages import STAGE_ORDER, LossReason
from reports.backtest import backtest
from reports.calibration import calibration
from reports.months import Month, months
from reports.open_age import open_age_report
from reports.period import Period
from reports.projector import Projector
from reports.trend import trend
from reports.velocity import velocity_report
from store.event_store import EventStore
from tests.factories import advance_to, open_cmd, sign_contract
from tests.random_lives import CATALOG

SOFTWARE = CATALOG.get("software")


def day(month: int, d: int, hour: int = 9) -> datetime:
    return datetime(2026, month, d, hour, tzinfo=UTC)


def _moves(text: str) -> list[tuple[datetime, str]]:
    """ "1-10 open, 1-12 contact" -> [(Jan 10th 09:00, "open"), (Jan 12th 09:00, "contact")]"""
    found = []
    for part in text.split(","):
        when, move = part.split()
        month, d = when.split("-")
        found.append((day(int(month), int(d)), move))
    return found


def life(oid: str, owner: str, amount: int, *moves: tuple[datetime, str]) -> list[DomainEvent]:
    """Opened at the first move's time; then each move: the next stage (`proposal=90000` quotes a
    new amount) or `lost`."""
    n = 0

    def meta(at: datetime) -> EventMeta:
        nonlocal n
        n += 1
        return EventMeta(event_id=f"{oid}-{n}", occurred_at=at)

    opened_at, _ = moves[0]
    state: OpportunityState = apply(
        None,
        first := decide_open(open_cmd(oid, owner=owner, amount=Decimal(amount)), SOFTWARE, meta(opened_at)),
    )
    events: list[DomainEvent] = [first]
    for at, move in moves[1:]:
        if move == "lost":
            event: DomainEvent = decide_lose(state, MarkLost(reason=LossReason.PRICE), meta(at))
        else:
            stage, _, quote = move.partition("=")
            nxt = STAGE_ORDER[state.stage.position + 1]
            assert nxt.value == stage
            if stage == "deal":
                state, signed = sign_contract(state, SOFTWARE, meta(at))
                events += signed
            extra = {"amount": Decimal(quote)} if quote else {}
            event = decide_advance(state, SOFTWARE, advance_to(nxt, **extra), meta(at))
        state = apply(state, event)
        events.append(event)
    return events


@pytest.fixture
async def four_deals(store: EventStore) -> EventStore:
    for oid, owner, amount, moves in (
        ("A", "an.li", 100_000, "1-10 open, 1-12 contact, 1-20 needs_analysis, 2-5 proposal,"
         " 2-10 negotiation, 2-20 deal"),
        ("B", "an.li", 50_000, "1-15 open, 1-25 contact, 2-3 lost"),
        ("C", "bo.wang", 200_000, "1-20 open, 1-22 contact, 2-15 needs_analysis"),
        ("D", "bo.wang", 80_000, "2-10 open, 2-11 contact, 2-12 needs_analysis, 2-13 proposal=90000,"
         " 2-14 negotiation, 3-3 deal"),
    ):  # fmt: skip
        await store.append(life(oid, owner, amount, *_moves(moves)))
    await Projector(store).catch_up()
    return store


FEBRUARY = Period(day(2, 1, 0), day(3, 1, 0), as_of=day(3, 1, 0))
QUARTER = Period(day(1, 1, 0), day(4, 1, 0), as_of=day(4, 1, 0))


async def test_velocity_and_its_factors(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        report = await velocity_report(conn, FEBRUARY, "software")
    team = report.team
    # Won in February: A (100,000, opened 41 days and contacted 39 days before); lost: B. Open on
    # March 1st: C (200,000) and D (quoting 90,000).
    assert (team.open, team.open_value, team.won, team.won_value, team.lost) == (
        2,
        D(290_000),
        1,
        D(100_000),
        1,
    )
    assert (team.win_rate, team.average_deal, team.cycle_days, team.sales_cycle_days) == (
        0.5,
        D(100_000),
        41.0,
        39.0,
    )
    assert team.per_day == D("2439.02")  # 2 x 0.5 x 100,000 / 41
    an, bo = report.by_rep["an.li"], report.by_rep["bo.wang"]
    assert (an.open, an.won, an.lost, an.per_day) == (0, 1, 1, D(0))  # decided, nothing left open: 0
    assert (bo.open, bo.open_value, bo.won, bo.lost, bo.per_day) == (
        2,
        D(290_000),
        0,
        0,
        None,
    )  # none decided


async def test_the_backtest_month_by_month(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        done = await backtest(conn, CATALOG, QUARTER, "software")
        midway = await backtest(conn, CATALOG, Period(QUARTER.start, QUARTER.end, day(3, 15)), "software")
    rows = [
        (m.month.label, m.open_at_start, m.forecast, m.won_value, m.error, m.realised) for m in done.months
    ]
    assert rows == [
        ("2026-01", 0, D(0), D(0), D(0), D(0)),
        # Feb 1st: A in needs_analysis (100,000 x 25 %), B and C in contact (50,000 and 200,000 x 10 %).
        ("2026-02", 3, D(50_000), D(100_000), D(-50_000), D(100_000)),
        # Mar 1st: C in needs_analysis (200,000 x 25 %), D in negotiation (90,000 x 75 %).
        ("2026-03", 2, D(117_500), D(90_000), D(27_500), D(90_000)),
    ]
    assert (done.forecast, done.won_value, done.error) == (D(167_500), D(190_000), D(-22_500))
    assert done.mean_absolute_error == D("25833.33")  # (0 + 50,000 + 27,500) / 3
    # As of March 15th, March is under way: shown, won so far, left out of the overall figures.
    assert [(m.month.label, m.complete, m.won_value) for m in midway.months][-1] == (
        "2026-03",
        False,
        D(90_000),
    )
    assert (midway.forecast, midway.won_value, midway.mean_absolute_error) == (
        D(50_000),
        D(100_000),
        D(25_000),
    )


async def test_calibration_beside_the_configured_probabilities(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        found = await calibration(conn, CATALOG, QUARTER)
    # Closed in the quarter: A and D won, B lost in contact.
    assert [(s.stage, s.closed, s.won, s.configured) for s in found.by_pipeline["software"]] == [
        ("identify", 3, 2, 0.05),
        ("contact", 3, 2, 0.10),
        ("needs_analysis", 2, 2, 0.25),
        ("proposal", 2, 2, 0.50),
        ("negotiation", 2, 2, 0.75),
    ]
    assert found.by_pipeline["software"][0].empirical == pytest.approx(2 / 3)
    assert found.by_pipeline["software"][4].gap == pytest.approx(0.25)
    assert all(s.closed == 0 and s.empirical is None for s in found.by_pipeline["services"])


async def test_the_age_of_the_open_stage(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        report = await open_age_report(conn, FEBRUARY)
    # On March 1st 00:00: D in negotiation since Feb 14th 09:00, C in needs_analysis since Feb 15th.
    assert [(d.opportunity_id, d.stage, d.days_in_stage, d.days_open) for d in report.deals] == [
        ("D", "negotiation", 14.625, 18.625),
        ("C", "needs_analysis", 13.625, 39.625),
    ]
    stages = {s.stage: s for s in report.stages}
    assert stages["needs_analysis"].open_in_stage is not None
    assert stages["needs_analysis"].open_in_stage.mean == 13.625
    # Visits of contact that ended in February: B's (9 days, lost), C's (24) and D's (1).
    closed = stages["contact"].closed_visits
    assert closed is not None
    assert (closed.n, closed.median) == (3, 9.0)
    assert closed.p90 == pytest.approx(21.0)  # 9 + 0.8 x (24 - 9)
    assert stages["identify"].open_in_stage is None


async def test_the_monthly_trend(four_deals: EventStore) -> None:
    async with four_deals.pool.connection() as conn:
        found = await trend(conn, QUARTER, "software")
    f = [m.figures for m in found.months]
    assert [(m.month.label, m.complete) for m in found.months] == [(f"2026-0{i}", True) for i in (1, 2, 3)]
    assert [(x.won, x.lost, x.open, x.open_value, x.per_day) for x in f] == [
        (0, 0, 3, D(350_000), None),  # nothing decided in January
        (1, 1, 2, D(290_000), D("2439.02")),
        (1, 0, 1, D(200_000), D("4285.71")),  # D: 90,000 won in 21 days; C open
    ]


def test_months_begin_in_the_period_by_the_as_of_date() -> None:
    period = Period(day(1, 15), day(4, 1, 0), as_of=day(3, 10))
    assert [m.label for m in months(period)] == ["2026-02", "2026-03"]
    assert months(Period(day(1, 15), day(4, 1, 0), as_of=day(2, 28))) == [Month(day(2, 1, 0), day(3, 1, 0))]
    assert [
        m.label for m in months(Period(day(11, 1, 0), datetime(2027, 2, 1, tzinfo=UTC), day(12, 31)))
    ] == [
        "2026-11",
        "2026-12",
    ]


# --- the command line: the same figures as JSON, CSV and tables -------------------------------


async def cli(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> str:
    capsys.readouterr()
    assert await main(["analytics", *argv]) == code, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return out + err


@pytest.fixture
def on_the_store(four_deals: EventStore, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "250")


@pytest.mark.usefixtures("on_the_store")
async def test_the_commands_print_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    february = ["--pipeline", "software", "--from", "2026-02-01", "--to", "2026-03-01"]
    quarter = ["--pipeline", "software", "--from", "2026-01-01", "--to", "2026-04-01"]
    found = json.loads(await cli(["velocity", *february, "--json"], capsys))
    assert found["period"]["as_of"] == "2026-03-01T00:00:00Z"
    assert (found["team"]["velocity_per_day"], found["team"]["open_value"]) == ("2439.02", "290000")
    assert found["by_rep"]["bo.wang"]["velocity_per_day"] is None
    rows = list(csv.DictReader(io.StringIO(await cli(["backtest", *quarter, "--csv"], capsys))))
    assert [(r["month"], Decimal(r["forecast"]), Decimal(r["won_value"])) for r in rows] == [
        ("2026-01", D(0), D(0)),
        ("2026-02", D(50_000), D(100_000)),
        ("2026-03", D(117_500), D(90_000)),
    ]
    assert rows[1]["start"] == "2026-02-01T00:00:00Z"
    table = await cli(["calibration", *quarter], capsys)
    assert "negotiation" in table
    assert "over 3 complete months: forecast 167,500, won 190,000, error -22,500" in table
    reps = await cli(["rep", *quarter], capsys)  # an.li won 1 of 2, bo.wang 1 of 1: the team 2 of 3
    assert "win rate below the team's 67%: an.li" in reps
    ages = await cli(["open-age", *february, "--limit", "1"], capsys)
    assert "longest in their stage (1 of 2)" in ages
    assert "D" in ages
    trend = json.loads(await cli(["trend", *quarter, "--json"], capsys))
    assert [m["velocity_per_day"] for m in trend["months"]] == [None, "2439.02", "4285.71"]
    assert "no pipeline 'hardware'" in await cli(["trend", "--pipeline", "hardware"], capsys, code=2)
