"""How the opportunities opened in a period stand: won, lost (by stage and reason), reopened, open."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from reports.period import Period
from reports.stage_moves import IS_STAGE_MOVE, STAGE_AFTER_MOVE

_OUTCOMES = f"""
WITH opened AS (
    SELECT stream_id FROM events
    WHERE type = 'OpportunityOpened' AND occurred_at >= %(start)s AND occurred_at < %(end)s
      AND occurred_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
), last_move AS (
    SELECT DISTINCT ON (e.stream_id) e.stream_id, e.type, e.payload
    FROM events e JOIN opened USING (stream_id)
    WHERE e.occurred_at <= %(as_of)s AND e.{IS_STAGE_MOVE}
    ORDER BY e.stream_id, e.version DESC
)
SELECT type, {STAGE_AFTER_MOVE} AS stage,
       payload->>'reason' AS reason, count(*)
FROM last_move GROUP BY 1, 2, 3
"""

_REOPENED = """
SELECT count(DISTINCT e.stream_id) FROM events e
WHERE e.type = 'OpportunityReopened' AND e.occurred_at <= %(as_of)s AND e.stream_id IN (
    SELECT stream_id FROM events WHERE type = 'OpportunityOpened'
      AND occurred_at >= %(start)s AND occurred_at < %(end)s
      AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s))
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
    params = {"start": period.start, "end": period.end, "as_of": period.as_of, "pipeline": pipeline}
    result = Outcomes()
    cur = await conn.execute(_OUTCOMES, params)
    for kind, stage, reason, n in await cur.fetchall():
        result.opened += n
        if kind == "OpportunityLost":
            result.lost_by_stage[stage] += n
            result.lost_by_reason[reason] += n
        elif stage in ("deal", "after_sales"):
            result.won += n
        else:
            result.open_by_stage[stage] += n
    cur = await conn.execute(_REOPENED, params)
    row = await cur.fetchone()
    result.reopened = int(row[0]) if row else 0
    return result
