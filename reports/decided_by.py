"""What an approver decided before: their votes on discount requests, newest first, with each
request's discount, amount and outcome (DiscountVoted events, rm_discount_requests)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

# The (type, occurred_at) index walked backwards: stops at the approver's latest `limit` votes.
_VOTES = """
SELECT e.stream_id, e.occurred_at, (e.payload->>'approve')::boolean, e.payload->>'comment',
       e.payload->>'level_name', r.discount, r.amount, r.outcome
FROM events e LEFT JOIN rm_discount_requests r ON r.request_id = e.payload->>'request_id'
WHERE e.type = 'DiscountVoted' AND e.payload->>'approver' = %(approver)s
ORDER BY e.occurred_at DESC LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Vote:
    opportunity_id: str
    at: datetime
    approve: bool
    comment: str
    level: str
    discount: Decimal | None
    amount: Decimal | None
    outcome: str | None  # of the request: approved, rejected, expired, superseded; None: open


async def votes_by(conn: AsyncConnection[Any], approver: str, limit: int = 20) -> list[Vote]:
    cur = await conn.execute(_VOTES, {"approver": approver, "limit": limit})
    return [
        Vote(str(o), at, bool(ok), str(c or ""), str(lvl or ""), d, a, out)
        for o, at, ok, c, lvl, d, a, out in await cur.fetchall()
    ]
