"""What a manager has on their desk: the open discount requests and who may decide them now, and
the decisions they sent as signals that the rules refused (`refused_decisions`).

One query of the approvals inbox read model (rm_pending_approvals: catch the projector up first).
Who may decide, and by when, is what the events recorded by the deal's own policy (the one it
started with), less those who have voted: today's pipeline file plays no part.

Requests stored before the events carried `approvers` and `deadline` have neither in the read
model. For them, pass the catalog: they are filled from today's policy of the deal's pipeline
(the best that can be known; a request whose pipeline is gone, or without a catalog, shows no
approvers and escalates at the time it reached its level).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog

# Requests of unknown routing (NULL approvers) come along whoever is asked about: filled below.
_PENDING = """
SELECT opportunity_id, owner, pipeline, request_id, discount, amount, level, level_name, waiting_since,
       deadline, approvers, voted
FROM rm_pending_approvals
WHERE %(approver)s::text IS NULL OR %(approver)s = ANY(approvers) OR approvers IS NULL
ORDER BY opportunity_id
"""


@dataclass(frozen=True)
class PendingApproval:
    opportunity_id: str
    owner: str
    pipeline: str
    request_id: str
    discount: Decimal
    amount: Decimal
    level: str
    waiting_since: datetime
    escalates_at: datetime
    approvers: tuple[str, ...]  # who may decide it now (and has not yet)


async def pending_approvals(
    conn: AsyncConnection[Any], approver: str | None = None, catalog: PipelineCatalog | None = None
) -> list[PendingApproval]:
    """The open requests (those `approver` may decide, if given), by opportunity; `catalog` fills
    the routing of requests stored before the events recorded it (see the module's docstring)."""
    cur = await conn.execute(_PENDING, {"approver": approver})
    found = []
    for (
        oid,
        owner,
        pipeline,
        rid,
        discount,
        amount,
        level,
        name,
        since,
        deadline,
        approvers,
        voted,
    ) in await cur.fetchall():
        if approvers is None:  # stored before the events carried the routing
            approvers, deadline = _today(catalog, pipeline, level, discount, owner, voted, since)
        if approver is not None and approver not in approvers:
            continue
        found.append(
            PendingApproval(
                oid, owner, pipeline, rid, discount, amount, name, since, deadline, tuple(approvers)
            )
        )
    return found


def _today(
    catalog: PipelineCatalog | None,
    pipeline: str,
    level: int,
    discount: Decimal,
    owner: str,
    voted: list[str],
    since: datetime,
) -> tuple[list[str], datetime]:
    policy = catalog.pipelines[pipeline].approvals if catalog and pipeline in catalog.pipelines else None
    if policy is None or level >= len(policy.levels):
        return [], since
    may = [a for a in policy.may_decide(level, discount, owner) if a not in voted]
    return may, since + timedelta(hours=policy.timeout_hours)


_REFUSED = """
SELECT opportunity_id, at, approver, approve, rule, message, request_id, decision_request_id, actor
FROM rm_refused_decisions
WHERE (%(approver)s::text IS NULL OR approver = %(approver)s)
  AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)
ORDER BY at DESC, opportunity_id, version DESC
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class RefusedDecision:
    """A discount decision sent as a signal (no caller waited for the answer) that the rules refused:
    the request it was about, if one was open, is as it was."""

    opportunity_id: str
    at: datetime
    approver: str  # as the decision named them
    approve: bool
    rule: str
    message: str
    request_id: str | None  # the discount request open then; None: none was
    decision_request_id: str  # the request id it was sent with
    actor: str | None  # who sent it (the approver, or a service on their behalf); None: unknown


async def refused_decisions(
    conn: AsyncConnection[Any], approver: str | None = None, *, since: datetime | None = None, limit: int = 20
) -> list[RefusedDecision]:
    """The latest refused decisions (naming `approver`, if given; from `since`), newest first."""
    cur = await conn.execute(_REFUSED, {"approver": approver, "since": since, "limit": limit})
    return [RefusedDecision(*row) for row in await cur.fetchall()]
