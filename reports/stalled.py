"""Stalled deals now (or as of a date) and the escalations each rep's deals caused, per stage.

Reads the projector's read models (rm_stage_visits, rm_activity, rm_nags): catch up first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import Stage
from reports.period import Period

# Open at as_of: the visit of an open stage entered by then and not ended by then (two index
# ranges, as in the forecast). Its last activity: the later of the visit's entry and the last
# other work on the deal by then (reminders are not work: rm_activity leaves them out).
_OPEN_DEALS = """
WITH open_visits AS (
    SELECT opportunity_id, owner, pipeline, stage, entered_at FROM rm_stage_visits
    WHERE exited_at IS NULL AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(as_of)s
    UNION ALL
    SELECT opportunity_id, owner, pipeline, stage, entered_at FROM rm_stage_visits
    WHERE exited_at > %(as_of)s AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(as_of)s
)
SELECT v.opportunity_id, v.owner, v.pipeline, v.stage, greatest(v.entered_at, a.at)
FROM open_visits v
LEFT JOIN LATERAL (
    SELECT max(at) AS at FROM rm_activity a WHERE a.opportunity_id = v.opportunity_id AND a.at <= %(as_of)s
) a ON true
WHERE v.stage = ANY(%(open_stages)s)
"""

_ESCALATIONS = """
SELECT owner, stage, count(*) FROM rm_nags
WHERE kind = 'escalated' AND at >= %(start)s AND at < %(end)s AND at <= %(as_of)s
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
    """Open deals idle in their stage for longer than the stage's SLA, most overdue first, from
    the read models (catch the projector up first)."""
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
    """Escalations to managers in `period` per owner and stage, most first, from the read models
    (catch the projector up first)."""
    cur = await conn.execute(_ESCALATIONS, {"start": period.start, "end": period.end, "as_of": period.as_of})
    return [Escalations(str(o), str(s), int(n)) for o, s, n in await cur.fetchall()]
