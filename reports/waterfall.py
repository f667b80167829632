"""The pipeline waterfall between two moments: what was open at the first, every flow in and out
after it up to the second, and what was open then; per pipeline and per rep, and for the team.

Open at T is the forecast's definition (reports/open_at.py: a visit of a stage before `deal`
entered by T and not ended by T), valued at the deal's amount in force at T. The flows are the
events after the start up to and including the end (`start < at <= end`), each counted once:

- new          deals opened (+ their lead's amount)
- reopened     lost deals reopened (+ their amount then)
- amount       revised amounts of open deals (+ the new amount - the one before; the move that wins
               a deal may revise it too: that revision is here, and `won` is the amount won)
- won          deals that entered `deal` (- the amount they were won at)
- lost         deals lost (- their amount then; a loss reopened later is a loss and a reopen)

so that, exactly, in count and value: end = start + new + reopened + amount - won - lost.
Beside them, the moves within the open pipeline, which change neither total: `advanced` (moves
forward to an open stage, at the amount after the move), `pulled_in` and `pushed_out` (the expected
close date moved earlier or later: `ExpectedCloseDateSet`, at the deal's amount then), with the
deals pushed most often. Reads rm_opportunities, rm_stage_visits, rm_amounts, rm_losses and
rm_close_dates: catch the projector up first.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from reports.open_at import OPEN_VISITS, amount_at, amount_at_version, no_jit


def _when(column: str, pipeline: str) -> str:
    """`column` falls after the start, by the end, in the pipeline asked for (NULL: any)."""
    return (
        f"{column} > %(start)s AND {column} <= %(end)s"
        f" AND (%(pipeline)s::text IS NULL OR {pipeline} = %(pipeline)s)"
    )


_OPEN = f"""
WITH {OPEN_VISITS}
SELECT v.pipeline, v.owner, count(*), coalesce(sum(a.amount), 0) FROM open_visits v
CROSS JOIN LATERAL {amount_at("v.opportunity_id", "%(at)s")} a
GROUP BY v.pipeline, v.owner
"""

_FLOWS = f"""
SELECT 'new', o.pipeline, o.owner, count(*), coalesce(sum(a.amount), 0) FROM rm_opportunities o
CROSS JOIN LATERAL {amount_at_version("o.opportunity_id", "1")} a
WHERE {_when("o.opened_at", "o.pipeline")} GROUP BY 2, 3
UNION ALL
SELECT CASE WHEN v.stage = 'deal' THEN 'won' WHEN v.reentry THEN 'reopened' ELSE 'advanced' END,
       v.pipeline, v.owner, count(*), coalesce(sum(a.amount), 0) FROM rm_stage_visits v
CROSS JOIN LATERAL {amount_at_version("v.opportunity_id", "v.version")} a
WHERE {_when("v.entered_at", "v.pipeline")} AND v.stage <> 'after_sales'
  AND (v.stage <> 'identify' OR v.reentry)
GROUP BY 1, 2, 3
UNION ALL
SELECT 'lost', l.pipeline, l.owner, count(*), coalesce(sum(a.amount), 0) FROM rm_losses l
CROSS JOIN LATERAL {amount_at_version("l.opportunity_id", "l.version")} a
WHERE {_when("l.lost_at", "l.pipeline")} GROUP BY 2, 3
UNION ALL
SELECT 'amount', v.pipeline, v.owner, count(*) FILTER (WHERE m.amount <> b.amount),
       coalesce(sum(m.amount - b.amount), 0) FROM rm_amounts m
JOIN rm_stage_visits v ON v.opportunity_id = m.opportunity_id AND v.version = m.version
CROSS JOIN LATERAL {amount_at_version("m.opportunity_id", "m.version - 1")} b
WHERE {_when("m.since", "v.pipeline")} AND m.version > 1 AND v.stage <> 'after_sales'
GROUP BY 2, 3
UNION ALL
SELECT CASE WHEN c.close_date > c.previous THEN 'pushed_out' ELSE 'pulled_in' END,
       o.pipeline, o.owner, count(*), coalesce(sum(a.amount), 0) FROM rm_close_dates c
JOIN rm_opportunities o USING (opportunity_id)
CROSS JOIN LATERAL {amount_at_version("c.opportunity_id", "c.version")} a
WHERE {_when("c.at", "o.pipeline")} AND c.close_date <> c.previous
GROUP BY 1, 2, 3
"""

_MOST_PUSHED = f"""
SELECT c.opportunity_id, o.owner, o.pipeline, count(*),
       sum(c.close_date - c.previous), max(c.close_date) FROM rm_close_dates c
JOIN rm_opportunities o USING (opportunity_id)
WHERE {_when("c.at", "o.pipeline")} AND c.close_date > c.previous
GROUP BY 1, 2, 3 ORDER BY 4 DESC, 5 DESC, 1 LIMIT %(limit)s
"""


@dataclass
class Flow:
    count: int = 0
    value: Decimal = Decimal(0)

    def add(self, count: int, value: Decimal) -> None:
        self.count += count
        self.value += value


IDENTITY_IN = ("new", "reopened")
IDENTITY_OUT = ("won", "lost")
MOVES = ("advanced", "pulled_in", "pushed_out")


@dataclass
class Waterfall:
    start: Flow = field(default_factory=Flow)
    new: Flow = field(default_factory=Flow)
    reopened: Flow = field(default_factory=Flow)
    amount: Flow = field(default_factory=Flow)  # count: revisions; value: their net change
    won: Flow = field(default_factory=Flow)
    lost: Flow = field(default_factory=Flow)
    end: Flow = field(default_factory=Flow)
    advanced: Flow = field(default_factory=Flow)
    pulled_in: Flow = field(default_factory=Flow)
    pushed_out: Flow = field(default_factory=Flow)

    def flow(self, name: str) -> Flow:
        found: Flow = getattr(self, name)
        return found

    @property
    def balances(self) -> bool:
        """start + new + reopened + amount - won - lost = end, in count and in value."""
        count = self.start.count + self.new.count + self.reopened.count - self.won.count - self.lost.count
        value = (self.start.value + self.new.value + self.reopened.value + self.amount.value) - (
            self.won.value + self.lost.value
        )
        return (count, value) == (self.end.count, self.end.value)


@dataclass(frozen=True)
class PushedDeal:
    opportunity_id: str
    owner: str
    pipeline: str
    pushes: int  # in the window
    days_pushed: int  # the close date moved later by this many days, summed
    close_date: date  # the latest date it was pushed to


@dataclass
class WaterfallReport:
    start: datetime
    end: datetime
    pipeline: str | None
    team: Waterfall = field(default_factory=Waterfall)
    by_pipeline: dict[str, Waterfall] = field(default_factory=lambda: defaultdict(Waterfall))
    by_rep: dict[str, Waterfall] = field(default_factory=lambda: defaultdict(Waterfall))
    most_pushed: list[PushedDeal] = field(default_factory=list)

    def _add(self, name: str, pipeline: str, owner: str, count: Any, value: Any) -> None:
        for w in (self.team, self.by_pipeline[pipeline], self.by_rep[owner]):
            w.flow(name).add(int(count), Decimal(value))


async def waterfall(
    conn: AsyncConnection[Any], start: datetime, end: datetime, pipeline: str | None = None, limit: int = 10
) -> WaterfallReport:
    """The waterfall from `start` to `end` (flows after `start`, up to and including `end`)."""
    if end < start:
        raise ValueError(f"the waterfall's end {end} is before its start {start}")
    report = WaterfallReport(start, end, pipeline)
    params: dict[str, Any] = {"start": start, "end": end, "pipeline": pipeline, "limit": limit}
    async with no_jit(conn):
        for name, at in (("start", start), ("end", end)):
            cur = await conn.execute(_OPEN, {**params, "at": at})
            for pl, owner, count, value in await cur.fetchall():
                report._add(name, pl, owner, count, value)
        cur = await conn.execute(_FLOWS, params)
        for name, pl, owner, count, value in await cur.fetchall():
            report._add(name, pl, owner, count, value)
        cur = await conn.execute(_MOST_PUSHED, params)
        report.most_pushed = [
            PushedDeal(o, w, p, int(n), int(d), c) for o, w, p, n, d, c in await cur.fetchall()
        ]
    report.by_pipeline, report.by_rep = dict(report.by_pipeline), dict(report.by_rep)
    return report
