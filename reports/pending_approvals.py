"""What a manager has on their desk: open discount requests, read from the event store.

The latest request of each opportunity that has no decision or expiry yet is pending; its stream is
folded with the domain's own `replay`, so the level, votes and deadlines are exactly the workflow's.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.approvals import check_vote
from domain.errors import RuleViolation
from domain.opportunity import replay
from domain.pipeline import PipelineCatalog
from store.event_store import EventStore

_PENDING = """
SELECT stream_id FROM (
    SELECT DISTINCT ON (stream_id) stream_id, type FROM events
    WHERE type IN ('DiscountRequested', 'DiscountApproved', 'DiscountRejected', 'DiscountExpired')
    ORDER BY stream_id, version DESC
) latest
WHERE type = 'DiscountRequested'
ORDER BY stream_id
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
    store: EventStore, catalog: PipelineCatalog, approver: str | None = None
) -> list[PendingApproval]:
    async with store.pool.connection() as conn:
        cur = await conn.execute(_PENDING)
        ids = [str(r[0]) for r in await cur.fetchall()]
    found = []
    for oid in ids:
        state = replay(await store.read_stream(oid))
        request = state.discount_request if state else None
        if state is None or request is None or request.level is None:
            continue
        policy = catalog.get(state.pipeline).approvals
        if policy is None:
            continue
        may_decide = []
        for person in policy.approvers:
            try:
                check_vote(policy, request, state.owner, person.name)
            except RuleViolation:
                continue
            may_decide.append(person.name)
        if approver is not None and approver not in may_decide:
            continue
        found.append(
            PendingApproval(
                opportunity_id=oid,
                owner=state.owner,
                pipeline=state.pipeline,
                request_id=request.request_id,
                discount=request.discount,
                amount=request.amount,
                level=policy.levels[request.level].name,
                waiting_since=request.level_since,
                escalates_at=request.level_since + timedelta(hours=policy.timeout_hours),
                approvers=tuple(may_decide),
            )
        )
    return found
