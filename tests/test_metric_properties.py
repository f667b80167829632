"""Property: for random opportunity histories committed in random interleavings across streams,
every projected metric equals a naive recomputation written here, from the events alone."""

import itertools
import random
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.events import DomainEvent, OpportunityLost, OpportunityOpened, OpportunityReopened, StageAdvanced
from domain.opportunity import replay
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, Stage
from reports.cycle_times import Breakdown, cycle_time_report
from reports.funnel import pipeline_metrics
from reports.period import Period
from reports.projector import READ_MODELS, Projector
from store.event_store import EventStore
from tests.factories import T0
from tests.test_projector import random_history

CATALOG = load_catalog()
NEXT = dict(itertools.pairwise(STAGE_ORDER))


def entries(events: list[DomainEvent]) -> list[tuple[Stage, datetime]]:
    """(stage, when) of every stage entry in one stream, naively from the events."""
    out = []
    for e in events:
        if isinstance(e, OpportunityOpened):
            out.append((Stage.IDENTIFY, e.occurred_at))
        elif isinstance(e, StageAdvanced):
            out.append((e.to_stage, e.occurred_at))
        elif isinstance(e, OpportunityReopened):
            out.append((e.stage, e.occurred_at))
    return out


def percentile_cont(values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> tuple[int, float, float, float]:
    return len(values), statistics.fmean(values), percentile_cont(values, 0.5), percentile_cont(values, 0.9)


class Expected(NamedTuple):
    funnel: dict[str, list[int]]
    won: int
    lost: dict[str, int]
    forecast: Decimal
    cycles: dict[tuple[str, str | None], list[float]]  # (metric, rep or None for the team): days
    stages: dict[tuple[str, str | None], list[float]]  # (stage, rep or None): days per visit


def days(a: datetime, b: datetime) -> float:
    return (b - a) / timedelta(days=1)


def naive(histories: list[list[DomainEvent]], period: Period) -> Expected:
    funnel: dict[str, list[int]] = {s.value: [0, 0] for s in STAGE_ORDER[:-1]}
    won, lost, forecast = 0, Counter[str](), Decimal(0)
    cycles: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    stages: dict[tuple[str, str | None], list[float]] = defaultdict(list)

    def within(t: datetime) -> bool:
        return period.start <= t < period.end

    for events in histories:
        seen = [e for e in events if e.occurred_at <= period.as_of]
        if not seen:
            continue
        owner = seen[0].owner if isinstance(seen[0], OpportunityOpened) else None
        ent = entries(seen)
        for stage in funnel:
            if any(s.value == stage and within(t) for s, t in ent):
                funnel[stage][0] += 1
                if any(s is NEXT[Stage(stage)] for s, _ in ent):
                    funnel[stage][1] += 1
        if any(s is Stage.DEAL and within(t) for s, t in ent):
            won += 1
        for e in seen:
            if not isinstance(e, OpportunityLost) or not within(e.occurred_at):
                continue
            if not any(isinstance(x, OpportunityReopened) and x.occurred_at > e.occurred_at for x in seen):
                lost[e.reason] += 1
        state = replay(seen)
        if state is not None and state.lost is None and state.stage not in (Stage.DEAL, Stage.AFTER_SALES):
            probability = CATALOG.get(state.pipeline).stage(state.stage).win_probability
            forecast += state.amount * Decimal(str(probability))
        firsts: dict[Stage, datetime] = {}
        for s, t in ent:
            firsts.setdefault(s, t)
        durations = []
        if Stage.CONTACT in firsts:
            durations.append(("lead_conversion", firsts[Stage.IDENTIFY], firsts[Stage.CONTACT]))
        if Stage.DEAL in firsts:
            durations.append(("sales_cycle", firsts[Stage.CONTACT], firsts[Stage.DEAL]))
            durations.append(("total_sales", firsts[Stage.IDENTIFY], firsts[Stage.DEAL]))
        for metric, began, ended in durations:
            if within(ended):
                for key in ((metric, None), (metric, owner)):
                    cycles[key].append(days(began, ended))
        # A visit runs from its entry to the next move or loss; it counts in the period it ends in.
        visit: tuple[Stage, datetime] | None = None
        for e in seen:
            if isinstance(e, StageAdvanced | OpportunityLost) and visit is not None:
                if within(e.occurred_at):
                    for key in ((visit[0].value, None), (visit[0].value, owner)):
                        stages[key].append(days(visit[1], e.occurred_at))
                visit = None
            if isinstance(e, OpportunityOpened):
                visit = (Stage.IDENTIFY, e.occurred_at)
            elif isinstance(e, StageAdvanced):
                visit = (e.to_stage, e.occurred_at)
            elif isinstance(e, OpportunityReopened):
                visit = (e.stage, e.occurred_at)
    return Expected(funnel, won, dict(lost), forecast, dict(cycles), dict(stages))


def assert_stats(got: dict[str, Breakdown], expected: dict[tuple[str, str | None], list[float]]) -> None:
    """Same groups, same counts; mean, median and p90 equal to float precision."""
    flat = {
        (key, rep): stats
        for key, b in got.items()
        for rep, stats in [(None, b.team), *b.by_rep.items()]
        if stats is not None
    }
    assert set(flat) == set(expected)
    for group, values in expected.items():
        n, mean, median, p90 = summary(values)
        stats = flat[group]
        assert stats.n == n, group
        assert abs(stats.mean - mean) < 1e-6, group
        assert abs(stats.median - median) < 1e-6, group
        assert abs(stats.p90 - p90) < 1e-6, group


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    opportunities=st.integers(1, 12),
    start_day=st.floats(0, 60),
    length=st.floats(1, 120),
    as_of_day=st.floats(0, 200),
)
async def test_projected_metrics_equal_a_naive_recomputation(
    store: EventStore, seed: int, opportunities: int, start_day: float, length: float, as_of_day: float
) -> None:
    rng = random.Random(seed)
    histories = [random_history(f"opp-{i}", rng) for i in range(opportunities)]
    async with store.pool.connection() as conn:  # a clean slate for every example
        await conn.execute(f"TRUNCATE events, projector_checkpoints, {', '.join(READ_MODELS)}")
    projector = Projector(store, batch_size=rng.randint(1, 20))
    pending = {id(h): 0 for h in histories}
    while any(pending[id(h)] < len(h) for h in histories):  # streams interleave; each stays in order
        h = rng.choice([h for h in histories if pending[id(h)] < len(h)])
        step = rng.randint(1, 4)
        await store.append(h[pending[id(h)] : pending[id(h)] + step])
        pending[id(h)] += step
        if rng.random() < 0.3:
            await projector.catch_up(max_batches=1)
    await projector.catch_up()

    period = Period(
        start=T0 + timedelta(days=start_day),
        end=T0 + timedelta(days=start_day + length),
        as_of=T0 + timedelta(days=as_of_day),
    )
    expected = naive(histories, period)
    async with store.pool.connection() as conn:
        got = await pipeline_metrics(conn, CATALOG, period)
        cycles = await cycle_time_report(conn, period)
    assert {s.stage: [s.entered, s.moved_on] for s in got.funnel} == expected.funnel
    assert got.won == expected.won
    assert dict(got.lost_by_reason) == expected.lost
    assert got.forecast == expected.forecast
    assert_stats(cycles.cycles, expected.cycles)
    assert_stats(cycles.stages, expected.stages)
