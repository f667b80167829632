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
from reports.period import Period

# Entered in the period: first entries, plus re-entries (a reopened deal) whose first entry was
# earlier. "Moved on" by as_of: the next stage's first entry by then (a reopened deal is back in the
# stage it was lost from, which it had never left forward).
_FUNNEL = """
WITH entered AS (
    SELECT stage, next_entered_at FROM rm_first_entries
    WHERE entered_at >= %(start)s AND entered_at < %(end)s AND entered_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
    UNION ALL
    SELECT stage, next_entered_at FROM (
        SELECT DISTINCT f.opportunity_id, f.stage, f.next_entered_at
        FROM rm_stage_visits v JOIN rm_first_entries f USING (opportunity_id, stage)
        WHERE v.reentry AND v.entered_at >= %(start)s AND v.entered_at < %(end)s
          AND v.entered_at <= %(as_of)s AND f.entered_at < %(start)s
          AND (%(pipeline)s::text IS NULL OR v.pipeline = %(pipeline)s)
    ) reentered
)
SELECT stage, count(*), count(*) FILTER (WHERE next_entered_at <= %(as_of)s)
FROM entered
GROUP BY stage
"""

# A deal is entered once (it cannot be lost), so its first entry is its only one.
_WON = """
SELECT count(*) FROM rm_first_entries
WHERE stage = 'deal' AND entered_at >= %(start)s AND entered_at < %(end)s AND entered_at <= %(as_of)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
"""

# Still lost at as_of: not reopened by then.
_LOST = """
SELECT stage, reason, count(*) FROM rm_losses
WHERE lost_at >= %(start)s AND lost_at < %(end)s AND lost_at <= %(as_of)s
  AND (reopened_at IS NULL OR reopened_at > %(as_of)s)
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
GROUP BY 1, 2
"""

# Open at as_of: a visit of an open stage entered by then and not exited by then. The two halves
# read two small index ranges (visits still open; visits exited after as_of), not every visit.
_OPEN_AT = """
WITH open_visits AS (
    SELECT opportunity_id, pipeline, stage FROM rm_stage_visits
    WHERE exited_at IS NULL AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(as_of)s
    UNION ALL
    SELECT opportunity_id, pipeline, stage FROM rm_stage_visits
    WHERE exited_at > %(as_of)s AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(as_of)s
)
SELECT v.pipeline, v.stage, count(*), sum(a.amount)
FROM open_visits v
CROSS JOIN LATERAL (
    SELECT amount FROM rm_amounts a WHERE a.opportunity_id = v.opportunity_id AND a.since <= %(as_of)s
    ORDER BY a.version DESC LIMIT 1
) a
WHERE %(pipeline)s::text IS NULL OR v.pipeline = %(pipeline)s
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
    params = period.params(pipeline, next=json.dumps(_NEXT))
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
