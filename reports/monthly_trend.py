"""Month by month, as known at a date: opportunities opened, deals won (and their amounts), deals
lost. Reads the read models (rm_opportunities, rm_first_entries, rm_losses, rm_amounts)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

_TREND = """
WITH months AS (
    SELECT m, m + interval '1 month' AS e
    FROM generate_series(date_trunc('month', %(start)s::timestamptz),
                         date_trunc('month', %(as_of)s::timestamptz), interval '1 month') AS m
), won AS (
    SELECT f.entered_at, a.amount FROM rm_first_entries f
    LEFT JOIN LATERAL (
        SELECT amount FROM rm_amounts a WHERE a.opportunity_id = f.opportunity_id AND a.since <= f.entered_at
        ORDER BY a.since DESC, a.version DESC LIMIT 1
    ) a ON true
    WHERE f.stage = 'deal' AND f.entered_at >= %(start)s AND f.entered_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR f.pipeline = %(pipeline)s)
)
SELECT m,
    (SELECT count(*) FROM rm_opportunities o WHERE o.opened_at >= m AND o.opened_at < e
        AND o.opened_at <= %(as_of)s AND (%(pipeline)s::text IS NULL OR o.pipeline = %(pipeline)s)),
    (SELECT count(*) FROM won WHERE entered_at >= m AND entered_at < e),
    (SELECT coalesce(sum(amount), 0) FROM won WHERE entered_at >= m AND entered_at < e),
    (SELECT count(*) FROM rm_losses l WHERE l.lost_at >= m AND l.lost_at < e
        AND l.lost_at <= %(as_of)s AND (%(pipeline)s::text IS NULL OR l.pipeline = %(pipeline)s))
FROM months ORDER BY m
"""


@dataclass(frozen=True)
class Month:
    month: date
    opened: int
    won: int
    won_amount: Decimal
    lost: int


async def monthly_trend(
    conn: AsyncConnection[Any], start: datetime, as_of: datetime, pipeline: str | None = None
) -> list[Month]:
    """Every month from `start`'s to `as_of`'s, counting only what happened by `as_of`."""
    cur = await conn.execute(_TREND, {"start": start, "as_of": as_of, "pipeline": pipeline})
    return [
        Month(m.date(), int(o), int(w), Decimal(amount), int(lost))
        for m, o, w, amount, lost in await cur.fetchall()
    ]
