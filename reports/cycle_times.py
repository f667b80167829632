"""Cycle-time metrics computed from the event store, exactly as design.md §2 defines them.

- lead conversion time  = first entry of `contact` - first entry of `identify`
- sales cycle duration  = first entry of `deal`    - first entry of `contact`
- total sales time      = first entry of `deal`    - first entry of `identify`
- time in stage         = exit - entry of each visit (a reopened deal visits a stage twice;
                          a visit ends when the deal moves on or is lost)

A duration belongs to the period in which it ends (a deal closed in March counts in March's sales
cycle), and only what happened on or before `as_of` counts, so any past report can be recomputed
from the events alone. The queries read the projector's read models (reports/projector.py):
catch up first. Durations are in days (double precision: `date_part`, not the numeric `extract`,
which made the aggregates several times slower).
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from domain.stages import STAGE_ORDER
from reports.period import Period

_STATS = """
    count(*) AS n,
    avg(days) AS mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90
"""

# A lead conversion ends at the first entry of `contact`, a sales cycle and a total sales time at
# the first entry of `deal`; each first entry carries the entries its durations run from (the
# opportunity's opening, its first entry of contact).
_CYCLE_TIMES = (
    """
WITH ended AS (
    SELECT stage, owner, entered_at, contact_at, opened_at FROM rm_first_entries
    WHERE stage IN ('contact', 'deal') AND entered_at >= %(start)s AND entered_at < %(end)s
      AND entered_at <= %(as_of)s AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
), durations AS (
    SELECT 'lead_conversion' AS metric, owner, date_part('epoch', entered_at - opened_at) / 86400 AS days
    FROM ended WHERE stage = 'contact'
    UNION ALL
    SELECT 'sales_cycle', owner, date_part('epoch', entered_at - contact_at) / 86400
    FROM ended WHERE stage = 'deal'
    UNION ALL
    SELECT 'total_sales', owner, date_part('epoch', entered_at - opened_at) / 86400
    FROM ended WHERE stage = 'deal'
)
SELECT metric, owner, """
    + _STATS
    + """
FROM durations
GROUP BY GROUPING SETS ((metric), (metric, owner))
"""
)

# A visit's time counts in the period in which it ended (by moving on or being lost).
_STAGE_TIMES = (
    """
WITH closed AS (
    SELECT stage, owner, date_part('epoch', exited_at - entered_at) / 86400 AS days
    FROM rm_stage_visits
    WHERE exited_at >= %(start)s AND exited_at < %(end)s AND exited_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
)
SELECT stage, owner, """
    + _STATS
    + """
FROM closed
GROUP BY GROUPING SETS ((stage), (stage, owner))
"""
)

CYCLE_METRICS = ("lead_conversion", "sales_cycle", "total_sales")
# The stages whose time makes up the sales cycle (contact entered .. deal entered).
SALES_CYCLE_STAGES = ("contact", "needs_analysis", "proposal", "negotiation")


@dataclass(frozen=True)
class Stats:
    n: int
    mean: float
    median: float
    p90: float


@dataclass(frozen=True)
class Breakdown:
    """One measure for the team and for each rep."""

    team: Stats | None
    by_rep: dict[str, Stats]


@dataclass(frozen=True)
class CycleTimeReport:
    period: Period
    pipeline: str | None
    cycles: dict[str, Breakdown]  # by metric name, see CYCLE_METRICS
    stages: dict[str, Breakdown]  # time in stage, by stage name, in pipeline order


def _stats(row: tuple[Any, ...]) -> Stats:
    n, mean, median, p90 = row
    return Stats(n=int(n), mean=float(mean), median=float(median), p90=float(p90))


def _breakdowns(rows: list[tuple[Any, ...]], keys: tuple[str, ...]) -> dict[str, Breakdown]:
    team: dict[str, Stats] = {}
    reps: dict[str, dict[str, Stats]] = {}
    for key, owner, *stats in rows:
        if owner is None:
            team[key] = _stats(tuple(stats))
        else:
            reps.setdefault(key, {})[owner] = _stats(tuple(stats))
    return {
        key: Breakdown(team=team.get(key), by_rep=dict(sorted(reps.get(key, {}).items())))
        for key in keys
        if key in team
    }


async def cycle_time_report(
    conn: AsyncConnection[Any], period: Period, pipeline: str | None = None
) -> CycleTimeReport:
    params = period.params(pipeline)
    cur = await conn.execute(_CYCLE_TIMES, params)
    cycles = _breakdowns(list(await cur.fetchall()), CYCLE_METRICS)
    cur = await conn.execute(_STAGE_TIMES, params)
    stages = _breakdowns(list(await cur.fetchall()), tuple(s.value for s in STAGE_ORDER))
    return CycleTimeReport(period=period, pipeline=pipeline, cycles=cycles, stages=stages)


@dataclass(frozen=True)
class Laggard:
    """A rep whose sales cycle exceeds the team mean, and the stage where the time goes."""

    rep: str
    sales_cycle_days: float
    team_days: float
    stage: str | None
    stage_excess_days: float


def laggards(report: CycleTimeReport) -> list[Laggard]:
    cycle = report.cycles.get("sales_cycle")
    if cycle is None or cycle.team is None:
        return []
    found = []
    for rep, stats in cycle.by_rep.items():
        if stats.mean <= cycle.team.mean:
            continue
        excess = {
            stage: b.by_rep[rep].mean - b.team.mean
            for stage, b in report.stages.items()
            if stage in SALES_CYCLE_STAGES and b.team is not None and rep in b.by_rep
        }
        worst = max(excess, key=excess.__getitem__, default=None)
        if worst is not None and excess[worst] <= 0:
            worst = None  # slower overall, yet no slower than the team per visit of any one stage
        found.append(
            Laggard(rep, stats.mean, cycle.team.mean, worst, excess.get(worst, 0.0) if worst else 0.0)
        )
    return sorted(found, key=lambda lag: -lag.sales_cycle_days)
