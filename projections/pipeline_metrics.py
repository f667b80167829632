"""Funnel conversion, win rate, lost reasons and the weighted forecast (design.md §2), from the
projector's read models, for a period and a pipeline, as of any date.

- funnel: of the opportunities that entered stage S in the period, the share that entered the next
  stage (by `as_of`); a reopened deal that enters a stage twice counts once.
- win rate: won / (won + lost) over the period: won = entered `deal` in the period; lost = lost in
  the period and still lost at `as_of` (a loss that was reopened is not a loss).
- lost reasons: those losses by reason (and by the stage they were lost from).
- forecast: sum of amount x the stage's win probability over the opportunities open at `as_of`.
"""

import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import STAGE_ORDER, Stage
from projections.cycle_times import Period

_FUNNEL = """
WITH entered AS (
    SELECT DISTINCT opportunity_id, stage FROM rm_stage_visits
    WHERE entered_at >= %(start)s AND entered_at < %(end)s AND entered_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
), reached AS (
    SELECT DISTINCT opportunity_id, stage FROM rm_stage_visits
    WHERE entered_at <= %(as_of)s AND opportunity_id IN (SELECT opportunity_id FROM entered)
)
SELECT e.stage, count(*), count(r.opportunity_id)
FROM entered e
LEFT JOIN reached r ON r.opportunity_id = e.opportunity_id AND r.stage = (%(next)s::jsonb ->> e.stage)
GROUP BY e.stage
"""

_WON = """
SELECT count(DISTINCT opportunity_id) FROM rm_stage_visits
WHERE stage = 'deal' AND entered_at >= %(start)s AND entered_at < %(end)s AND entered_at <= %(as_of)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
"""

_LOST = """
SELECT l.stage, l.reason, count(*) FROM rm_losses l
WHERE l.lost_at >= %(start)s AND l.lost_at < %(end)s AND l.lost_at <= %(as_of)s
  AND (%(pipeline)s::text IS NULL OR l.pipeline = %(pipeline)s)
  AND NOT EXISTS (SELECT 1 FROM rm_stage_visits v WHERE v.opportunity_id = l.opportunity_id
                  AND v.entered_at > l.lost_at AND v.entered_at <= %(as_of)s)
GROUP BY 1, 2
"""

_OPEN_AT = """
SELECT v.pipeline, v.stage, count(*), sum(a.amount)
FROM rm_stage_visits v
CROSS JOIN LATERAL (
    SELECT amount FROM rm_amounts a WHERE a.opportunity_id = v.opportunity_id AND a.since <= %(as_of)s
    ORDER BY a.version DESC LIMIT 1
) a
WHERE v.entered_at <= %(as_of)s AND (v.exited_at IS NULL OR v.exited_at > %(as_of)s)
  AND v.stage NOT IN ('deal', 'after_sales')
  AND (%(pipeline)s::text IS NULL OR v.pipeline = %(pipeline)s)
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    entered: int
    moved_on: int

    @property
    def conversion(self) -> float | None:
        return self.moved_on / self.entered if self.entered else None


@dataclass
class PipelineMetrics:
    funnel: list[FunnelStep]
    won: int = 0
    lost_by_reason: Counter[str] = field(default_factory=Counter)
    lost_by_stage: Counter[str] = field(default_factory=Counter)
    forecast: Decimal = Decimal(0)  # weighted: sum of amount x stage probability
    pipeline_value: Decimal = Decimal(0)  # unweighted: sum of the amounts of open opportunities
    open_by_stage: Counter[str] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        return sum(self.lost_by_reason.values())

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None


_NEXT = {a.value: b.value for a, b in itertools.pairwise(STAGE_ORDER)}


async def pipeline_metrics(
    conn: AsyncConnection[Any], catalog: PipelineCatalog, period: Period, pipeline: str | None = None
) -> PipelineMetrics:
    params = {
        "start": period.start,
        "end": period.end,
        "as_of": period.as_of,
        "pipeline": pipeline,
        "next": json.dumps(_NEXT),
    }
    cur = await conn.execute(_FUNNEL, params)
    counts = {stage: (int(n), int(moved)) for stage, n, moved in await cur.fetchall()}
    funnel = [
        FunnelStep(s.value, *counts.get(s.value, (0, 0))) for s in STAGE_ORDER[:-1]
    ]  # after_sales is the end: nothing to move on to
    result = PipelineMetrics(funnel=funnel)
    cur = await conn.execute(_WON, params)
    row = await cur.fetchone()
    result.won = int(row[0]) if row else 0
    cur = await conn.execute(_LOST, params)
    for stage, reason, n in await cur.fetchall():
        result.lost_by_reason[reason] += n
        result.lost_by_stage[stage] += n
    cur = await conn.execute(_OPEN_AT, params)
    for pipeline_id, stage, n, amount in await cur.fetchall():
        probability = _probability(catalog, pipeline_id, stage)
        result.open_by_stage[stage] += n
        result.pipeline_value += amount
        result.forecast += amount * Decimal(str(probability))
    return result


def _probability(catalog: PipelineCatalog, pipeline_id: str, stage: str) -> float:
    """The stage's win probability; 0 for a pipeline no longer configured (it cannot be weighed)."""
    pipeline = catalog.pipelines.get(pipeline_id)
    return pipeline.stage(Stage(stage)).win_probability if pipeline else 0.0
