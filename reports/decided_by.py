"""What an approver decided before: their votes on discount requests, newest first, with each
request's discount, amount and outcome (rm_discount_votes, rm_discount_requests)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

# The (approver, at) index walked backwards: stops at the approver's latest `limit` votes.
_VOTES = """
SELECT v.opportunity_id, v.at, v.approve, v.comment, v.level_name, r.discount, r.amount, r.outcome
FROM rm_discount_votes v LEFT JOIN rm_discount_requests r ON r.request_id = v.request_id
WHERE v.approver = %(approver)s
ORDER BY v.at DESC LIMIT %(limit)s
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
