"""How long the open deals have been where they are, as of any date: for every opportunity open at
`as_of`, the time in its current stage (since the visit began: a reopened deal's clock restarts at
the reopen) and in total (since it was opened); per stage, the mean, median and p90 of both over the
open ones, beside the same figures of the visits of that stage that ended in the period (moved on
or lost: the sales report's time in stage). Days; percentiles are PostgreSQL's `percentile_cont`.

"Open at as_of" is the forecast's definition (reports/open_at.py). Reads rm_stage_visits,
rm_opportunities and rm_amounts: catch the projector up first.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.stages import STAGE_ORDER
from reports.cycle_times import Stats
from reports.open_at import OPEN_VISITS, PIPELINE, amount_at, in_period, no_jit
from reports.period import Period

OPEN_STAGES = tuple(s.value for s in STAGE_ORDER if s.is_open)


def _stats(column: str) -> str:
    return (
        f"avg({column}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {column}),"
        f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {column})"
    )


_AGES = f"""
WITH {OPEN_VISITS}
SELECT v.opportunity_id, v.owner, v.pipeline, v.stage, v.entered_at, o.opened_at, a.amount,
       date_part('epoch', %(at)s - v.entered_at) / 86400 AS in_stage,
       date_part('epoch', %(at)s - o.opened_at) / 86400 AS total
FROM open_visits v
JOIN rm_opportunities o USING (opportunity_id)
CROSS JOIN LATERAL {amount_at("v.opportunity_id", "%(at)s")} a
"""

_LIST = _AGES + " ORDER BY in_stage DESC, v.opportunity_id LIMIT %(limit)s"

_OPEN_STATS = f"""
WITH ages AS ({_AGES})
SELECT stage, count(*), {_stats("in_stage")}, {_stats("total")} FROM ages GROUP BY stage
"""

_CLOSED_STATS = f"""
SELECT stage, count(*), {_stats("days")} FROM (
    SELECT stage, date_part('epoch', exited_at - entered_at) / 86400 AS days FROM rm_stage_visits
    WHERE {in_period("exited_at")} AND {PIPELINE} AND stage NOT IN ('deal', 'after_sales')
) closed
GROUP BY stage
"""


@dataclass(frozen=True)
class OpenDeal:
    opportunity_id: str
    owner: str
    pipeline: str
    stage: str
    stage_entered_at: datetime
    opened_at: datetime
    amount: Decimal
    days_in_stage: float
    days_open: float


@dataclass(frozen=True)
class StageAge:
    stage: str
    open_in_stage: Stats | None  # the open deals' time in this stage so far
    open_total: Stats | None  # the open deals' age since opening
    closed_visits: Stats | None  # visits of the stage that ended in the period


@dataclass(frozen=True)
class OpenAgeReport:
    period: Period
    pipeline: str | None
    deals: list[OpenDeal]  # longest in their stage first (at most `limit` of them)
    open_deals: int  # all of them
    stages: list[StageAge]  # in pipeline order, the open stages


def _to_stats(n: Any, mean: Any, median: Any, p90: Any) -> Stats:
    return Stats(int(n), float(mean), float(median), float(p90))


async def open_age_report(
    conn: AsyncConnection[Any], period: Period, pipeline: str | None = None, limit: int | None = None
) -> OpenAgeReport:
    """The open deals at the period's as-of date and their ages, the oldest in their stage first."""
    params = period.params(pipeline, at=period.as_of, limit=limit)
    async with no_jit(conn):
        cur = await conn.execute(_LIST, params)
        deals = [
            OpenDeal(oid, owner, pl, stage, entered, opened, Decimal(amount), float(days), float(total))
            for oid, owner, pl, stage, entered, opened, amount, days, total in await cur.fetchall()
        ]
        cur = await conn.execute(_OPEN_STATS, params)
        in_stage, total = {}, {}
        for stage, n, *figures in await cur.fetchall():
            in_stage[stage] = _to_stats(n, *figures[:3])
            total[stage] = _to_stats(n, *figures[3:])
        cur = await conn.execute(_CLOSED_STATS, params)
        closed = {stage: _to_stats(n, *figures) for stage, n, *figures in await cur.fetchall()}
    stages = [StageAge(s, in_stage.get(s), total.get(s), closed.get(s)) for s in OPEN_STAGES]
    return OpenAgeReport(period, pipeline, deals, sum(s.n for s in in_stage.values()), stages)
