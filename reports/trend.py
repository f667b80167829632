"""The monthly trend of the headline figures: for each calendar month M = [m0, m1) (UTC) that
begins in the period and has begun by `as_of`, the team's figures of M as they stood at the
month's end, i.e. as of min(m1, as_of) (the month in progress at `as_of` is partial):

- won, lost and the win rate of M (won = entered `deal` in M; lost = lost in M and still lost then);
- the mean sales cycle (contact -> deal) and mean total sales time (opened -> deal) of M's wins;
- the average deal size of M's wins, each at its amount when won;
- the opportunities open at the month's end and their value (amounts then, unweighted);
- velocity = open x win rate x average deal / mean total sales time (reports/velocity.py).

Each month is exactly `velocity_report(Period(m0, m1, min(m1, as_of)))`'s team row.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from reports.months import Month, months
from reports.period import Period
from reports.velocity import Velocity, velocity_report


@dataclass(frozen=True)
class TrendMonth:
    month: Month
    complete: bool  # the month had ended by as_of
    figures: Velocity


@dataclass(frozen=True)
class Trend:
    period: Period
    pipeline: str | None
    months: list[TrendMonth]


async def trend(conn: AsyncConnection[Any], period: Period, pipeline: str | None = None) -> Trend:
    """Month by month, from the read models (catch the projector up first)."""
    found = []
    for month in months(period):
        seen = min(month.end, period.as_of)
        report = await velocity_report(conn, Period(month.start, month.end, seen), pipeline)
        found.append(TrendMonth(month, month.end <= period.as_of, report.team))
    return Trend(period, pipeline, found)
