"""Property: for random opportunity histories committed in random interleavings across streams,
every projected metric equals a naive recomputation written here, from the events alone."""

import itertools
import random
import statistics
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.events import DomainEvent, OpportunityLost, OpportunityOpened, OpportunityReopened, StageAdvanced
from domain.opportunity import replay
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, Stage
from projections.cycle_times import Period, cycle_time_report
from projections.event_store import EventStore
from projections.pipeline_metrics import pipeline_metrics
from projections.projector import READ_MODELS, Projector
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


class Expected(NamedTuple):
    funnel: dict[str, list[int]]
    won: int
    lost: dict[str, int]
    forecast: Decimal
    lead_conversion: tuple[int, float | None]


def naive(histories: list[list[DomainEvent]], period: Period) -> Expected:
    funnel: dict[str, list[int]] = {s.value: [0, 0] for s in STAGE_ORDER[:-1]}
    won, lost, forecast = 0, Counter[str](), Decimal(0)
    lead_days: list[float] = []
    for events in histories:
        seen = [e for e in events if e.occurred_at <= period.as_of]
        ent = entries(seen)
        for stage in funnel:
            if any(s.value == stage and period.start <= t < period.end for s, t in ent):
                funnel[stage][0] += 1
                if any(s is NEXT[Stage(stage)] for s, _ in ent):
                    funnel[stage][1] += 1
        if any(s is Stage.DEAL and period.start <= t < period.end for s, t in ent):
            won += 1
        for e in seen:
            if not isinstance(e, OpportunityLost) or not period.start <= e.occurred_at < period.end:
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
        if Stage.CONTACT in firsts and period.start <= firsts[Stage.CONTACT] < period.end:
            lead_days.append((firsts[Stage.CONTACT] - firsts[Stage.IDENTIFY]) / timedelta(days=1))
    mean = statistics.fmean(lead_days) if lead_days else None
    return Expected(funnel, won, dict(lost), forecast, (len(lead_days), mean))


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
    lead = cycles.cycles.get("lead_conversion")
    n, mean = expected.lead_conversion
    if n == 0:
        assert lead is None
    else:
        assert lead is not None
        assert lead.team is not None
        assert lead.team.n == n
        assert mean is not None
        assert abs(lead.team.mean - mean) < 1e-6
