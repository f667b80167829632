"""The forecast's read models: what each deal is expected to close on, and how sure it is.

- rm_close_dates          one row per ExpectedCloseDateSet: the date, the one before it (NULL: the
                          first), when (a later date than the one before is a push)
- rm_forecast_categories  one row per ForecastCategorySet: the category set on the deal, when
                          (NULL: back to its stage's, from the pipeline's configuration)

Both only ever gain rows: a batch COPYs them. The date and category in force at a moment are the
last row by then (reports/waterfall.py, reports/forecast_categories.py).
"""

from datetime import date
from typing import Any

from psycopg import AsyncConnection

from reports import projector_fields as fields
from reports.projector_fields import StoredEvent, read
from reports.projector_tables import Table, copy_rows

TYPES = frozenset(("ExpectedCloseDateSet", "ForecastCategorySet"))

CLOSE_DATES = Table.of(
    "rm_close_dates", "opportunity_id version at close_date previous", "opportunity_id version"
)
CATEGORIES = Table.of(
    "rm_forecast_categories", "opportunity_id version at category", "opportunity_id version"
)
TABLES = (CLOSE_DATES, CATEGORIES)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


async def project(conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
    dates, categories = [], []
    for event in events:
        if event.type == "ExpectedCloseDateSet":
            set_ = read(event, fields.ExpectedCloseDateSet)
            row = (event.stream_id, event.version, event.at)
            dates.append((*row, _day(set_["expected_close_date"]), _day(set_.get("previous"))))
        else:
            category = read(event, fields.ForecastCategorySet).get("category")
            categories.append((event.stream_id, event.version, event.at, category))
    async with conn.cursor() as cur:
        await copy_rows(cur, CLOSE_DATES, dates)
        await copy_rows(cur, CATEGORIES, categories)
