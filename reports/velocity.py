"""Sales velocity per rep and for the team, with its four factors, for a period as of a date:

    velocity = open opportunities x win rate x average deal size / cycle length   (amount per day)

- open opportunities: those open at `as_of` (a visit of a stage before `deal` entered by then and
  not ended by then: the forecast's definition, reports/funnel.py), and their amounts then summed
  (`open_value`, unweighted);
- win rate: won / (won + lost), as the sales report counts them: won = entered `deal` in the
  period; lost = lost in the period and still lost at `as_of`;
- average deal size: the mean amount of the deals won in the period, each at its win (the amount
  the event that entered `deal` left in force);
- cycle length: the mean total sales time of those deals (first entry of `deal` - opening), days;
  the mean sales cycle (first entry of `deal` - first entry of `contact`) is given beside it.

A rep's figures count the deals they own. Velocity is None when nothing was decided in the period
(no win rate) or the cycle length is not positive, and 0 when deals were decided but none won.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from reports.open_at import OPEN_VISITS, PIPELINE, amount_at, amount_at_version, in_period, no_jit
from reports.period import Period

CENT = Decimal("0.01")

_WON = f"""
SELECT grouping(f.owner) = 1, f.owner, count(*), coalesce(sum(a.amount), 0),
       avg(date_part('epoch', f.entered_at - f.opened_at) / 86400),
       avg(date_part('epoch', f.entered_at - f.contact_at) / 86400)
FROM rm_first_entries f
CROSS JOIN LATERAL {amount_at_version("f.opportunity_id", "f.version")} a
WHERE f.stage = 'deal' AND {in_period("f.entered_at")} AND {PIPELINE}
GROUP BY GROUPING SETS ((), (f.owner))
"""

_LOST = f"""
SELECT grouping(owner) = 1, owner, count(*) FROM rm_losses
WHERE {in_period("lost_at")} AND (reopened_at IS NULL OR reopened_at > %(as_of)s) AND {PIPELINE}
GROUP BY GROUPING SETS ((), (owner))
"""

_OPEN = f"""
WITH {OPEN_VISITS}
SELECT grouping(v.owner) = 1, v.owner, count(*), coalesce(sum(a.amount), 0)
FROM open_visits v CROSS JOIN LATERAL {amount_at("v.opportunity_id", "%(at)s")} a
GROUP BY GROUPING SETS ((), (v.owner))
"""


@dataclass
class Velocity:
    open: int = 0  # opportunities open at as_of
    open_value: Decimal = Decimal(0)  # their amounts then, summed
    won: int = 0
    won_value: Decimal = Decimal(0)  # the deals won, each at its amount when won
    lost: int = 0
    cycle_days: float | None = None  # mean total sales time of the deals won (opened -> deal)
    sales_cycle_days: float | None = None  # mean sales cycle of the deals won (contact -> deal)

    @property
    def win_rate(self) -> float | None:
        decided = self.won + self.lost
        return self.won / decided if decided else None

    @property
    def average_deal(self) -> Decimal | None:
        """The mean amount of the deals won, rounded to the cent."""
        return (self.won_value / self.won).quantize(CENT) if self.won else None

    @property
    def per_day(self) -> Decimal | None:
        """open x win rate x average deal / cycle days = open x won value / decided / cycle days,
        rounded to the cent."""
        decided = self.won + self.lost
        if not decided:
            return None
        if not self.won:
            return Decimal(0)
        if self.cycle_days is None or self.cycle_days <= 0:
            return None
        value = self.open * self.won_value / decided / Decimal(repr(self.cycle_days))
        return value.quantize(CENT)


@dataclass(frozen=True)
class VelocityReport:
    period: Period
    pipeline: str | None
    team: Velocity
    by_rep: dict[str, Velocity] = field(default_factory=dict)


async def velocity_report(
    conn: AsyncConnection[Any], period: Period, pipeline: str | None = None
) -> VelocityReport:
    """Velocity and its factors for the team and each rep, from the read models (catch up first)."""
    params = period.params(pipeline, at=period.as_of)
    team, reps = Velocity(), dict[str, Velocity]()

    def row(is_team: bool, owner: str) -> Velocity:
        return team if is_team else reps.setdefault(owner, Velocity())

    async with no_jit(conn):
        cur = await conn.execute(_WON, params)
        for is_team, owner, n, value, cycle, sales_cycle in await cur.fetchall():
            v = row(is_team, owner)
            v.won, v.won_value = int(n), Decimal(value)
            v.cycle_days = None if cycle is None else float(cycle)
            v.sales_cycle_days = None if sales_cycle is None else float(sales_cycle)
        cur = await conn.execute(_LOST, params)
        for is_team, owner, n in await cur.fetchall():
            row(is_team, owner).lost = int(n)
        cur = await conn.execute(_OPEN, params)
        for is_team, owner, n, value in await cur.fetchall():
            v = row(is_team, owner)
            v.open, v.open_value = int(n), Decimal(value)
    return VelocityReport(period, pipeline, team, dict(sorted(reps.items())))
