"""Win rate, funnel conversion and lost reasons per rep against the team, for a period and a
pipeline, as of any date: the sales report's definitions (reports/funnel.py), grouped by owner.

- funnel: of the opportunities that entered stage S in the period, the share that entered the
  next stage by `as_of` (a reopened deal that enters a stage twice counts once);
- win rate: won / (won + lost): won = entered `deal` in the period; lost = lost in the period and
  still lost at `as_of`;
- lost reasons: those losses by reason and by the stage they were lost from.

The team's row is every rep's together (equal to the sales report's figures); a rep's row counts
the opportunities they own.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from domain.stages import STAGE_ORDER
from reports.funnel import FunnelStep
from reports.open_at import PIPELINE, in_period, no_jit
from reports.period import Period

# reports/funnel.py's funnel, with the owner of each entry.
_FUNNEL = f"""
WITH entered AS (
    SELECT stage, owner, next_entered_at FROM rm_first_entries
    WHERE {in_period("entered_at")} AND {PIPELINE}
    UNION ALL
    SELECT stage, owner, next_entered_at FROM (
        SELECT DISTINCT f.opportunity_id, f.stage, f.owner, f.next_entered_at
        FROM rm_stage_visits v JOIN rm_first_entries f USING (opportunity_id, stage)
        WHERE v.reentry AND {in_period("v.entered_at")} AND f.entered_at < %(start)s
          AND (%(pipeline)s::text IS NULL OR v.pipeline = %(pipeline)s)
    ) reentered
)
SELECT grouping(owner) = 1, owner, stage, count(*), count(*) FILTER (WHERE next_entered_at <= %(as_of)s)
FROM entered
GROUP BY GROUPING SETS ((stage), (stage, owner))
"""

_WON = f"""
SELECT grouping(owner) = 1, owner, count(*) FROM rm_first_entries
WHERE stage = 'deal' AND {in_period("entered_at")} AND {PIPELINE}
GROUP BY GROUPING SETS ((), (owner))
"""

_LOST = f"""
SELECT grouping(owner) = 1, owner, stage, reason, count(*) FROM rm_losses
WHERE {in_period("lost_at")} AND (reopened_at IS NULL OR reopened_at > %(as_of)s) AND {PIPELINE}
GROUP BY GROUPING SETS ((stage, reason), (owner, stage, reason))
"""

FUNNEL_STAGES = tuple(s.value for s in STAGE_ORDER[:-1])  # after_sales is the end


@dataclass
class RepFigures:
    entered: Counter[str] = field(default_factory=Counter)  # by stage
    moved_on: Counter[str] = field(default_factory=Counter)
    won: int = 0
    lost_by_reason: Counter[str] = field(default_factory=Counter)
    lost_by_stage: Counter[str] = field(default_factory=Counter)

    @property
    def funnel(self) -> list[FunnelStep]:
        return [FunnelStep(s, self.entered[s], self.moved_on[s]) for s in FUNNEL_STAGES]

    @property
    def lost(self) -> int:
        return sum(self.lost_by_reason.values())

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None


@dataclass(frozen=True)
class RepReport:
    period: Period
    pipeline: str | None
    team: RepFigures
    by_rep: dict[str, RepFigures]

    def behind(self) -> list[str]:
        """Reps whose win rate is below the team's."""
        team = self.team.win_rate
        return [
            rep
            for rep, f in self.by_rep.items()
            if team is not None and f.win_rate is not None and f.win_rate < team
        ]


async def rep_report(conn: AsyncConnection[Any], period: Period, pipeline: str | None = None) -> RepReport:
    """The team's and each rep's funnel, win rate and losses, from the read models (catch up first)."""
    params = period.params(pipeline)
    team, reps = RepFigures(), dict[str, RepFigures]()

    def row(is_team: bool, owner: str) -> RepFigures:
        return team if is_team else reps.setdefault(owner, RepFigures())

    async with no_jit(conn):
        cur = await conn.execute(_FUNNEL, params)
        for is_team, owner, stage, n, moved in await cur.fetchall():
            f = row(is_team, owner)
            f.entered[stage], f.moved_on[stage] = int(n), int(moved)
        cur = await conn.execute(_WON, params)
        for is_team, owner, n in await cur.fetchall():
            row(is_team, owner).won = int(n)
        cur = await conn.execute(_LOST, params)
        for is_team, owner, stage, reason, n in await cur.fetchall():
            f = row(is_team, owner)
            f.lost_by_reason[reason] += int(n)
            f.lost_by_stage[stage] += int(n)
    return RepReport(period, pipeline, team, dict(sorted(reps.items())))
