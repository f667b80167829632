"""After-sales at a glance: per rep, revisits due, answered and missed as of a date; the revisits
waiting for feedback now; the renewals opened. Reads rm_relationships, rm_revisits, rm_renewals."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

_PER_REP = """
SELECT owner,
    count(*) FILTER (WHERE came_due_at >= %(start)s) AS due,
    count(*) FILTER (WHERE answered_at <= %(as_of)s AND came_due_at >= %(start)s) AS answered,
    count(*) FILTER (WHERE missed_at <= %(as_of)s AND came_due_at >= %(start)s) AS missed,
    count(*) FILTER (WHERE (answered_at IS NULL OR answered_at > %(as_of)s)
                       AND (missed_at IS NULL OR missed_at > %(as_of)s)) AS waiting,
    avg(score) FILTER (WHERE answered_at <= %(as_of)s AND came_due_at >= %(start)s) AS score
FROM rm_revisits
WHERE came_due_at <= %(as_of)s AND (%(owner)s::text IS NULL OR owner = %(owner)s)
GROUP BY owner ORDER BY owner
"""

_WAITING = """
SELECT r.stream_id, s.deal_id, s.customer, r.owner, r.number, r.due_at, r.came_due_at
FROM rm_revisits r JOIN rm_relationships s USING (stream_id)
WHERE r.answered_at IS NULL AND r.missed_at IS NULL AND s.closed_at IS NULL
  AND (%(owner)s::text IS NULL OR r.owner = %(owner)s)
ORDER BY r.came_due_at LIMIT %(limit)s
"""

_RENEWALS = """
SELECT renewal_id, deal_id, owner, opened_at, amount FROM rm_renewals
WHERE (%(owner)s::text IS NULL OR owner = %(owner)s)
ORDER BY opened_at DESC LIMIT %(limit)s
"""


@dataclass(frozen=True)
class RepRevisits:
    owner: str
    due: int  # came due in the period
    answered: int
    missed: int
    waiting: int  # due by as_of, neither answered nor missed by then
    mean_score: float | None


@dataclass(frozen=True)
class WaitingRevisit:
    deal_id: str
    customer: str
    owner: str
    number: int
    due_at: datetime
    came_due_at: datetime


@dataclass(frozen=True)
class Renewal:
    renewal_id: str
    deal_id: str
    owner: str
    opened_at: datetime
    amount: Decimal


async def revisits_by_rep(
    conn: AsyncConnection[Any], start: datetime, as_of: datetime, owner: str | None = None
) -> list[RepRevisits]:
    cur = await conn.execute(_PER_REP, {"start": start, "as_of": as_of, "owner": owner})
    return [
        RepRevisits(str(o), int(d), int(a), int(m), int(w), float(s) if s is not None else None)
        for o, d, a, m, w, s in await cur.fetchall()
    ]


async def waiting_revisits(
    conn: AsyncConnection[Any], owner: str | None = None, limit: int = 50
) -> list[WaitingRevisit]:
    """The revisits waiting for the customer's feedback now, oldest first."""
    cur = await conn.execute(_WAITING, {"owner": owner, "limit": limit})
    return [
        WaitingRevisit(str(d), str(c), str(o), int(n), due, came)
        for _, d, c, o, n, due, came in await cur.fetchall()
    ]


async def renewals(conn: AsyncConnection[Any], owner: str | None = None, limit: int = 20) -> list[Renewal]:
    cur = await conn.execute(_RENEWALS, {"owner": owner, "limit": limit})
    return [Renewal(str(r), str(d), str(o), at, Decimal(a)) for r, d, o, at, a in await cur.fetchall()]
