"""The forecast by expected close month and by category, as of any date.

Every deal open at `as_of` (reports/open_at.py) counts once, at its amount then, in the month of
its expected close date then (the last `ExpectedCloseDateSet` by `as_of`; None: no date set) and
in its category then: the one set on the deal (the last `ForecastCategorySet` by `as_of`, unless
it cleared it), else its stage's in the pipeline's configuration (`forecast_category`). Beside
the amount, the weighted amount (x the stage's win probability, as in the sales report's
forecast). Reads rm_stage_visits, rm_amounts, rm_close_dates and rm_forecast_categories.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import ForecastCategory, Stage
from reports.open_at import OPEN_VISITS, amount_at, no_jit

_LAST_BY = "WHERE x.opportunity_id = v.opportunity_id AND x.at <= %(at)s ORDER BY x.version DESC LIMIT 1"

_OPEN = f"""
WITH {OPEN_VISITS}
SELECT v.pipeline, v.stage, to_char(c.close_date, 'YYYY-MM'), f.category,
       count(*), coalesce(sum(a.amount), 0)
FROM open_visits v
CROSS JOIN LATERAL {amount_at("v.opportunity_id", "%(at)s")} a
LEFT JOIN LATERAL (SELECT x.close_date FROM rm_close_dates x {_LAST_BY}) c ON true
LEFT JOIN LATERAL (SELECT x.category FROM rm_forecast_categories x {_LAST_BY}) f ON true
GROUP BY 1, 2, 3, 4
"""

CATEGORIES = tuple(ForecastCategory)


@dataclass
class Cell:
    deals: int = 0
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)  # amount x the stage's win probability

    def add(self, deals: int, amount: Decimal, weighted: Decimal) -> None:
        self.deals += deals
        self.amount += amount
        self.weighted += weighted


@dataclass
class ForecastByCategory:
    as_of: datetime
    pipeline: str | None
    # (close month "YYYY-MM" or None: no date, category) -> the open deals there
    cells: dict[tuple[str | None, ForecastCategory], Cell] = field(default_factory=lambda: defaultdict(Cell))
    by_category: dict[ForecastCategory, Cell] = field(default_factory=lambda: defaultdict(Cell))
    total: Cell = field(default_factory=Cell)

    @property
    def months(self) -> list[str | None]:
        """The close months with open deals, in order (None, no date, last)."""
        found = {m for m, _ in self.cells}
        return [*sorted(m for m in found if m is not None), *([None] if None in found else [])]


def _weight(catalog: PipelineCatalog, pipeline: str, stage: Stage) -> tuple[Decimal, ForecastCategory]:
    configured = catalog.pipelines.get(pipeline)
    if configured is None:  # a pipeline no longer configured: unweighted, not yet called
        return Decimal(0), ForecastCategory.PIPELINE
    config = configured.stage(stage)
    return Decimal(str(config.win_probability)), config.forecast_category


async def forecast_by_category(
    conn: AsyncConnection[Any], catalog: PipelineCatalog, as_of: datetime, pipeline: str | None = None
) -> ForecastByCategory:
    report = ForecastByCategory(as_of, pipeline)
    async with no_jit(conn):
        cur = await conn.execute(_OPEN, {"at": as_of, "pipeline": pipeline})
        rows = await cur.fetchall()
    for pl, stage, month, category, deals, amount in rows:
        weight, default = _weight(catalog, pl, Stage(stage))
        where = ForecastCategory(category) if category is not None else default
        amount = Decimal(amount)
        for cell in (report.cells[(month, where)], report.by_category[where], report.total):
            cell.add(int(deals), amount, amount * weight)
    report.cells, report.by_category = dict(report.cells), dict(report.by_category)
    return report
