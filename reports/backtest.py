"""Backtest of the weighted forecast, month by month, as of any date.

For each calendar month M = [m0, m1) (UTC) that begins in the period and has begun by `as_of`:

- forecast(M): the forecast as it stood at m0, i.e. what `dealflow report --as-of m0` prints: the
  sum, over the opportunities open at m0 (a visit of a stage before `deal` entered by m0 and not
  ended by m0), of the amount in force at m0 x the win probability today's pipeline configuration
  gives the stage the deal was in at m0 (0 for a pipeline no longer configured). Only events up to
  m0 count.
- won(M): the sum of the amounts of the deals that entered `deal` in M (by `as_of`), each at its
  amount when won (whether or not it was open at m0: new deals won within the month count too).
- error(M) = forecast(M) - won(M): positive when the forecast promised more than the month brought.
- realised(M), beside them: of the deals open at m0, the amount won by `as_of`, whenever (what the
  weights estimate: a calibrated forecast meets it on average).

A month is complete when m1 <= as_of; the overall figures (totals, bias = total error, mean absolute
error) are over the complete months only. Reads rm_stage_visits, rm_amounts, rm_first_entries.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import Stage
from reports.months import Month, months
from reports.open_at import PIPELINE, amount_at, amount_at_version, no_jit
from reports.period import Period

# Every month at once: the visits that were open at some month's start (entered by the last start,
# not ended by the first) are read once, from the same two index ranges as the forecast's, and
# paired with the starts they span.
_OPEN_AT_STARTS = f"""
WITH months AS (
    SELECT unnest(%(starts)s::timestamptz[]) AS m0
), spanning AS (
    SELECT opportunity_id, pipeline, stage, entered_at, exited_at FROM rm_stage_visits
    WHERE exited_at IS NULL AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(last)s
      AND {PIPELINE}
    UNION ALL
    SELECT opportunity_id, pipeline, stage, entered_at, exited_at FROM rm_stage_visits
    WHERE exited_at > %(first)s AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(last)s
      AND {PIPELINE}
)
SELECT m.m0, v.pipeline, v.stage, count(*), sum(a.amount), coalesce(sum(w.amount), 0)
FROM months m
JOIN spanning v ON v.entered_at <= m.m0 AND (v.exited_at IS NULL OR v.exited_at > m.m0)
CROSS JOIN LATERAL {amount_at("v.opportunity_id", "m.m0")} a
LEFT JOIN LATERAL (
    SELECT x.amount FROM rm_first_entries d
    CROSS JOIN LATERAL {amount_at_version("d.opportunity_id", "d.version")} x
    WHERE d.opportunity_id = v.opportunity_id AND d.stage = 'deal' AND d.entered_at <= %(as_of)s
    LIMIT 1  -- one first entry at most; the LIMIT keeps it a lookup per open deal, not a join of all wins
) w ON true
GROUP BY 1, 2, 3
"""

_WON_IN = f"""
SELECT m.m0, count(*), sum(a.amount)
FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) AS m(m0, m1)
JOIN rm_first_entries f ON f.stage = 'deal' AND f.entered_at >= m.m0 AND f.entered_at < m.m1
CROSS JOIN LATERAL {amount_at_version("f.opportunity_id", "f.version")} a
WHERE f.entered_at >= %(first)s AND f.entered_at < %(stop)s AND f.entered_at <= %(as_of)s AND {PIPELINE}
GROUP BY 1
"""


@dataclass(frozen=True)
class MonthBacktest:
    month: Month
    complete: bool  # the month had ended by as_of
    open_at_start: int  # opportunities open at m0
    forecast: Decimal  # weighted, as it stood at m0
    won: int  # deals won in the month
    won_value: Decimal
    realised: Decimal  # of the deals open at m0, the amount won by as_of

    @property
    def error(self) -> Decimal:
        return self.forecast - self.won_value


@dataclass(frozen=True)
class Backtest:
    period: Period
    pipeline: str | None
    months: list[MonthBacktest]

    @property
    def complete(self) -> list[MonthBacktest]:
        return [m for m in self.months if m.complete]

    @property
    def forecast(self) -> Decimal:
        return sum((m.forecast for m in self.complete), Decimal(0))

    @property
    def won_value(self) -> Decimal:
        return sum((m.won_value for m in self.complete), Decimal(0))

    @property
    def error(self) -> Decimal:
        """Bias: total forecast - total won over the complete months."""
        return self.forecast - self.won_value

    @property
    def mean_absolute_error(self) -> Decimal | None:
        """The mean of |error| over the complete months, rounded to the cent."""
        done = self.complete
        if not done:
            return None
        return (sum((abs(m.error) for m in done), Decimal(0)) / len(done)).quantize(Decimal("0.01"))


def _probability(catalog: PipelineCatalog, pipeline_id: str, stage: str) -> Decimal:
    pipeline = catalog.pipelines.get(pipeline_id)
    return Decimal(str(pipeline.stage(Stage(stage)).win_probability)) if pipeline else Decimal(0)


async def backtest(
    conn: AsyncConnection[Any], catalog: PipelineCatalog, period: Period, pipeline: str | None = None
) -> Backtest:
    """Each month's forecast at its start against what it won, from the read models (catch up first)."""
    found = months(period)
    if not found:
        return Backtest(period, pipeline, [])
    params = {
        "starts": [m.start for m in found],
        "ends": [m.end for m in found],
        "first": found[0].start,
        "last": found[-1].start,
        "stop": found[-1].end,
        "as_of": period.as_of,
        "pipeline": pipeline,
    }
    opened: dict[datetime, list[Any]] = {m.start: [0, Decimal(0), Decimal(0)] for m in found}
    async with no_jit(conn):
        cur = await conn.execute(_OPEN_AT_STARTS, params)
        for m0, pipeline_id, stage, count, value, won_later in await cur.fetchall():
            at = opened[m0]
            at[0] += int(count)
            at[1] += value * _probability(catalog, str(pipeline_id), str(stage))
            at[2] += won_later
        cur = await conn.execute(_WON_IN, params)
        won = {m0: (int(n), Decimal(value)) for m0, n, value in await cur.fetchall()}
    return Backtest(
        period,
        pipeline,
        [
            MonthBacktest(
                m,
                m.end <= period.as_of,
                opened[m.start][0],
                opened[m.start][1],
                *won.get(m.start, (0, Decimal(0))),
                opened[m.start][2],
            )
            for m in found
        ],
    )
