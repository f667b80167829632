"""How the opportunities opened in a period stand: won, lost (by stage and reason), reopened, open.

Reads the projector's read models (rm_opportunities, rm_stage_visits, rm_losses): catch up first.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from reports.period import Period

# Where each opportunity opened in the period stands at as_of: lost, if a loss by then was not
# undone by then; otherwise in the stage of its last visit entered by then. Reopened: a loss of
# it was undone by then.
_OUTCOMES = """
WITH opened AS (
    SELECT opportunity_id FROM rm_opportunities
    WHERE opened_at >= %(start)s AND opened_at < %(end)s AND opened_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
)
SELECT s.lost, CASE WHEN s.lost THEN l.stage ELSE v.stage END, CASE WHEN s.lost THEN l.reason END,
       count(*), count(*) FILTER (WHERE s.reopened)
FROM opened o
CROSS JOIN LATERAL (
    SELECT stage FROM rm_stage_visits v
    WHERE v.opportunity_id = o.opportunity_id AND v.entered_at <= %(as_of)s
    ORDER BY v.visit_no DESC LIMIT 1
) v
LEFT JOIN LATERAL (
    SELECT lost_at, reopened_at, stage, reason FROM rm_losses l
    WHERE l.opportunity_id = o.opportunity_id AND l.lost_at <= %(as_of)s
    ORDER BY l.version DESC LIMIT 1
) l ON true
CROSS JOIN LATERAL (
    SELECT l.lost_at IS NOT NULL AND (l.reopened_at IS NULL OR l.reopened_at > %(as_of)s) AS lost,
           EXISTS (SELECT 1 FROM rm_losses r
                   WHERE r.opportunity_id = o.opportunity_id AND r.reopened_at <= %(as_of)s) AS reopened
) s
GROUP BY 1, 2, 3
"""


@dataclass
class Outcomes:
    opened: int = 0
    won: int = 0
    open_by_stage: Counter[str] = field(default_factory=Counter)
    lost_by_stage: Counter[str] = field(default_factory=Counter)
    lost_by_reason: Counter[str] = field(default_factory=Counter)
    reopened: int = 0


async def outcomes(conn: AsyncConnection[Any], period: Period, pipeline: str | None = None) -> Outcomes:
    """The opportunities opened in `period` as they stand at its as-of date, from the read models
    (catch the projector up first)."""
    params = period.params(pipeline)
    result = Outcomes()
    cur = await conn.execute(_OUTCOMES, params)
    for lost, stage, reason, n, reopened in await cur.fetchall():
        result.opened += n
        result.reopened += reopened
        if lost:
            result.lost_by_stage[stage] += n
            result.lost_by_reason[reason] += n
        elif stage in ("deal", "after_sales"):
            result.won += n
        else:
            result.open_by_stage[stage] += n
    return result
