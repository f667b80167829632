"""Stalled deals now (or as of a date) and the escalations each rep's deals caused, per stage."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import Stage
from reports.period import Period
from reports.stage_moves import IS_STAGE_MOVE, STAGE_AFTER_MOVE

_OPEN_DEALS = f"""
WITH last_move AS (
    SELECT DISTINCT ON (stream_id) stream_id, type, {STAGE_AFTER_MOVE} AS stage
    FROM events
    WHERE {IS_STAGE_MOVE} AND occurred_at <= %(as_of)s
    ORDER BY stream_id, version DESC
), last_activity AS (
    SELECT stream_id, max(occurred_at) AS at FROM events
    WHERE type NOT IN ('StallReminded', 'StallEscalated') AND occurred_at <= %(as_of)s
    GROUP BY stream_id
)
SELECT m.stream_id, o.payload->>'owner', o.payload->>'pipeline', m.stage, a.at
FROM last_move m
JOIN last_activity a USING (stream_id)
JOIN events o ON o.stream_id = m.stream_id AND o.version = 1
WHERE m.type <> 'OpportunityLost' AND m.stage = ANY(%(open_stages)s)
"""

_ESCALATIONS = """
SELECT payload->>'owner', payload->>'stage', count(*) FROM events
WHERE type = 'StallEscalated'
  AND occurred_at >= %(start)s AND occurred_at < %(end)s AND occurred_at <= %(as_of)s
GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
"""


@dataclass(frozen=True)
class StalledDeal:
    opportunity_id: str
    owner: str
    pipeline: str
    stage: str
    last_activity_at: datetime
    idle_days: float
    sla_days: int


@dataclass(frozen=True)
class Escalations:
    owner: str
    stage: str
    count: int


async def stalled_deals(
    conn: AsyncConnection[Any], catalog: PipelineCatalog, as_of: datetime
) -> list[StalledDeal]:
    """Open deals idle in their stage for longer than the stage's SLA, most overdue first."""
    open_stages = [s.value for s in Stage if s.is_open]
    cur = await conn.execute(_OPEN_DEALS, {"as_of": as_of, "open_stages": open_stages})
    found = []
    for oid, owner, pipeline_id, stage, last in await cur.fetchall():
        pipeline = catalog.pipelines.get(str(pipeline_id))
        sla = pipeline.stage(Stage(stage)).sla_days if pipeline else None
        idle = (as_of - last) / timedelta(days=1)
        if sla is not None and idle > sla:
            found.append(
                StalledDeal(str(oid), str(owner), str(pipeline_id), str(stage), last, round(idle, 1), sla)
            )
    return sorted(found, key=lambda d: d.idle_days / d.sla_days, reverse=True)


async def escalations(conn: AsyncConnection[Any], period: Period) -> list[Escalations]:
    cur = await conn.execute(_ESCALATIONS, {"start": period.start, "end": period.end, "as_of": period.as_of})
    return [Escalations(str(o), str(s), int(n)) for o, s, n in await cur.fetchall()]
