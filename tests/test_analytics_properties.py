"""Property: for random whole lives of deals (tests/random_lives.py, with random amounts and
revised quotes) committed in random interleavings across streams, every analytics figure read from
the read models equals a naive recomputation from the events alone (tests/analytics_naive.py), for
random periods, as of random dates, for every pipeline and each one."""

import random
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.events import DomainEvent, OpportunityOpened, StageAdvanced
from reports.backtest import backtest
from reports.calibration import calibration
from reports.forecast_categories import forecast_by_category
from reports.months import months
from reports.open_age import open_age_report
from reports.period import Period
from reports.projector import READ_MODELS, Projector
from reports.rep_performance import FUNNEL_STAGES, rep_report
from reports.trend import trend
from reports.velocity import Velocity, velocity_report
from reports.waterfall import Waterfall, waterfall
from store.event_store import EventStore
from tests import analytics_naive as naive
from tests.factories import T0
from tests.random_lives import CATALOG, random_life
from tests.test_metric_properties import summary


def with_amounts(stream: list[DomainEvent], rng: random.Random) -> list[DomainEvent]:
    """The stream with a random lead amount (to the cent) and now and then a revised quote."""

    def amount() -> Decimal:
        return Decimal(rng.randrange(100, 90_000_000)) / 100

    out: list[DomainEvent] = []
    for e in stream:
        if isinstance(e, OpportunityOpened) or (isinstance(e, StageAdvanced) and rng.random() < 0.3):
            e = e.model_copy(update={"amount": amount()})
        out.append(e)
    return out


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)


def assert_velocity(got: Velocity, want: Velocity, who: str | None) -> None:
    assert (got.open, got.open_value, got.won, got.won_value, got.lost) == (
        want.open,
        want.open_value,
        want.won,
        want.won_value,
        want.lost,
    ), who
    assert close(got.cycle_days, want.cycle_days), who
    assert close(got.sales_cycle_days, want.sales_cycle_days), who
    g, w = got.per_day, want.per_day
    assert (g is None) == (w is None), who
    if g is not None and w is not None:
        assert abs(g - w) <= Decimal("0.01"), who


def nonempty(v: Velocity) -> bool:
    return bool(v.open or v.won or v.lost)


async def check(
    store: EventStore, histories: list[list[DomainEvent]], p: Period, pipeline: str | None
) -> None:
    all_deals = naive.deals(histories, pipeline)
    async with store.pool.connection() as conn:
        reps = await rep_report(conn, p, pipeline)
        velocity = await velocity_report(conn, p, pipeline)
        ages = await open_age_report(conn, p, pipeline)
        calibrated = await calibration(conn, CATALOG, p, pipeline)
        tested = await backtest(conn, CATALOG, p, pipeline)
        monthly = await trend(conn, p, pipeline)

    # 1. per rep: funnel, won, losses by reason and stage; the team is everyone
    want_reps = naive.rep_figures(all_deals, p)
    for who, want in want_reps.items():
        got = reps.team if who is None else reps.by_rep.get(who)
        if got is None:
            assert not want.entered, who
            assert not want.won, who
            assert not want.lost_by_reason, who
            continue
        assert [(s.stage, s.entered, s.moved_on) for s in got.funnel] == [
            (s, want.entered[s], want.moved_on[s]) for s in FUNNEL_STAGES
        ], who
        assert (got.won, got.lost_by_reason, got.lost_by_stage) == (
            want.won,
            +want.lost_by_reason,
            +want.lost_by_stage,
        ), who
    assert set(reps.by_rep) <= set(want_reps)

    # 4. velocity and its factors
    want_v = naive.velocity(all_deals, p)
    assert_velocity(velocity.team, want_v[None], None)
    assert set(velocity.by_rep) == {w for w, v in want_v.items() if w is not None and nonempty(v)}
    for who, got_v in velocity.by_rep.items():
        assert_velocity(got_v, want_v[who], who)

    # 2. the age of the open stage, and the closed visits beside it
    want_ages = naive.open_ages(all_deals, p.as_of)
    assert ages.open_deals == len(want_ages) == len(ages.deals)
    for deal in ages.deals:
        stage, entered, in_stage, total = want_ages[deal.opportunity_id]
        assert (deal.stage, deal.stage_entered_at) == (stage, entered)
        assert close(deal.days_in_stage, in_stage)
        assert close(deal.days_open, total)
    assert [d.days_in_stage for d in ages.deals] == sorted(
        (d.days_in_stage for d in ages.deals), reverse=True
    )
    closed = naive.closed_visits(all_deals, p)
    for row in ages.stages:
        open_here = [(a[2], a[3]) for a in want_ages.values() if a[0] == row.stage]
        for got_stats, values in (
            (row.open_in_stage, [a for a, _ in open_here]),
            (row.open_total, [b for _, b in open_here]),
            (row.closed_visits, closed.get(row.stage, [])),
        ):
            if not values:
                assert got_stats is None, row.stage
                continue
            assert got_stats is not None, row.stage
            n, mean, median, p90 = summary(values)
            assert got_stats.n == n, row.stage
            assert close(got_stats.mean, mean), row.stage
            assert close(got_stats.median, median), row.stage
            assert close(got_stats.p90, p90), row.stage

    # 6. calibration: per pipeline and stage, closed deals that entered it and how many were won
    want_cal = naive.calibration(all_deals, p)
    got_cal = {(pl, s.stage): (s.closed, s.won) for pl, rows in calibrated.by_pipeline.items() for s in rows}
    assert {k: v for k, v in got_cal.items() if v != (0, 0)} == want_cal
    # ... and the backtest, month by month
    assert [m.month for m in tested.months] == months(p)
    for m in tested.months:
        want_m = naive.month_backtest(all_deals, CATALOG, m.month.start, m.month.end, p.as_of)
        assert (m.open_at_start, m.forecast, m.won, m.won_value, m.realised) == want_m, m.month
        assert m.complete == (m.month.end <= p.as_of)

    # 3. the waterfall from the period's start to its as-of date, per rep and for the team; 5. the
    # forecast by close month and category as of the as-of date
    await check_waterfall_and_forecast(store, all_deals, p, pipeline)

    # 7. the trend: each month's team figures as they stood at its end
    assert [m.month for m in monthly.months] == months(p)
    for month in monthly.months:
        seen = Period(month.month.start, month.month.end, min(month.month.end, p.as_of))
        assert_velocity(month.figures, naive.velocity(all_deals, seen)[None], month.month.label)


FLOWS = ("start", "new", "reopened", "amount", "won", "lost", "end", "advanced", "pulled_in", "pushed_out")


def flows(w: Waterfall) -> dict[str, tuple[int, Decimal]]:
    return {n: (w.flow(n).count, w.flow(n).value) for n in FLOWS if w.flow(n).count or w.flow(n).value}


async def check_waterfall_and_forecast(
    store: EventStore, all_deals: list[naive.Deal], p: Period, pipeline: str | None
) -> None:
    start, end = sorted((p.start, p.as_of))
    async with store.pool.connection() as conn:
        got = await waterfall(conn, start, end, pipeline)
        ahead = await forecast_by_category(conn, CATALOG, p.as_of, pipeline)
    want = naive.waterfall(all_deals, start, end)
    assert flows(got.team) == want[None]
    assert {w: flows(f) for w, f in got.by_rep.items() if flows(f)} == {w: f for w, f in want.items() if w}
    for w in (got.team, *got.by_rep.values(), *got.by_pipeline.values()):
        assert w.balances
    pushes = sum(d.pushes for d in got.most_pushed)
    assert pushes == got.team.pushed_out.count or len(got.most_pushed) == 10
    cells = {(m, c.value): (x.deals, x.amount, x.weighted) for (m, c), x in ahead.cells.items()}
    assert cells == naive.forecast(all_deals, CATALOG, p.as_of)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    opportunities=st.integers(6, 24),
    pipeline=st.sampled_from([None, "software", "services"]),
)
async def test_analytics_equal_a_naive_recomputation(
    store: EventStore, seed: int, opportunities: int, pipeline: str | None
) -> None:
    rng = random.Random(seed)
    histories = [
        with_amounts(stream, rng) for i in range(opportunities) for stream in random_life(f"deal-{i}", rng)
    ]
    async with store.pool.connection() as conn:  # a clean slate for every example
        await conn.execute(f"TRUNCATE events, projector_checkpoints, {', '.join(READ_MODELS)}")
    projector = Projector(store, batch_size=rng.randint(1, 30))
    pending = {id(h): 0 for h in histories}
    while any(pending[id(h)] < len(h) for h in histories):  # streams interleave; each stays in order
        h = rng.choice([h for h in histories if pending[id(h)] < len(h)])
        step = rng.randint(1, 6)
        await store.append(h[pending[id(h)] : pending[id(h)] + step])
        pending[id(h)] += step
        if rng.random() < 0.2:
            await projector.catch_up(max_batches=1)
    await projector.catch_up()
    # A period over the lives' first months (they begin in the first 30 days), as of its end, a
    # moment inside it, a month after it, or any day of the lives.
    start = T0 + timedelta(days=rng.uniform(-20, 100))
    end = start + timedelta(days=rng.uniform(15, 240))
    as_of = rng.choice(
        (
            end,
            start + (end - start) * rng.random(),
            end + timedelta(days=30),
            T0 + timedelta(rng.uniform(0, 200)),
        )
    )
    period = Period(start, end, as_of)
    await check(store, histories, period, pipeline)
