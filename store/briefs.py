"""Compiled sales briefs, kept one per period and pipeline, so that what the managers were sent can
be printed again as it was (compiling a period again replaces its brief)."""

import json
from datetime import date
from typing import Any

from psycopg import AsyncConnection

from domain.sales_brief import SalesBrief

ALL_PIPELINES = "*"  # the key of a brief over every pipeline


async def save_brief(conn: AsyncConnection[Any], brief: SalesBrief) -> None:
    """Keep the brief; compiling the same period again replaces it (a rerun after late events)."""
    await conn.execute(
        "INSERT INTO sales_briefs (period, period_start, pipeline, body) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (period, period_start, pipeline) DO UPDATE"
        " SET body = excluded.body, compiled_at = clock_timestamp()",
        (brief.period, brief.start, brief.pipeline or ALL_PIPELINES, brief.model_dump_json()),
    )


async def stored_briefs(
    conn: AsyncConnection[Any],
    period: str,
    pipeline: str | None = None,
    start: date | None = None,
    limit: int = 1,
) -> list[SalesBrief]:
    """The latest stored briefs (or the one starting on `start`), newest first."""
    cur = await conn.execute(
        "SELECT body, compiled_at FROM sales_briefs WHERE period = %s AND pipeline = %s"
        " AND (%s::date IS NULL OR period_start = %s) ORDER BY period_start DESC LIMIT %s",
        (period, pipeline or ALL_PIPELINES, start, start, limit),
    )
    briefs = []
    for body, compiled_at in await cur.fetchall():
        data = body if isinstance(body, dict) else json.loads(body)
        briefs.append(SalesBrief.model_validate({**data, "compiled_at": compiled_at}))
    return briefs
