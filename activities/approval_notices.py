"""Approval requests into the outbox: each approver asked to decide a discount is told, by a row of
the `notifications` table per approver, written by the append activity once the events that ask
are stored (a retried append writes them again, and the outbox keeps one of each).

Why here and not in the workflow: the workflow records who must decide (`approvers`, `deadline` on
`DiscountRequested` and `DiscountEscalated`); telling them is a side effect of that record, like a
transactional outbox's. Doing it in the activity that stores the events needs no new workflow
command, so every recorded history replays unchanged. The row's `details` carry what the links
of the message need (domain/approval_links.py): the request and its deadline.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
import structlog

from domain.events import DomainEvent
from domain.negotiation_events import DiscountEscalated, DiscountRequested
from store import outbox
from store.event_store import EventStore

log = structlog.get_logger(__name__)
APPROVAL_KINDS = frozenset({"DiscountRequested", "DiscountEscalated"})


@dataclass(frozen=True)
class ApprovalNotice:
    key: str
    recipient: str
    kind: str
    stream_id: str
    message: str
    details: dict[str, object]


def approval_notices(events: Sequence[DomainEvent]) -> list[ApprovalNotice]:
    """The notifications the events ask for: one per approver of each new request or escalation."""
    notices: list[ApprovalNotice] = []
    for e in events:
        if isinstance(e, DiscountRequested) and e.level is not None:
            what = f"a {e.discount:f}% discount on {e.amount:f} ({e.level_name})"
            said = f", with the comment: {e.comment}" if e.comment else ""
            message = f"{e.stream_id}: {what} awaits your decision{said}"
            extra: dict[str, object] = {"discount": f"{e.discount:f}", "amount": f"{e.amount:f}"}
        elif isinstance(e, DiscountEscalated):
            message = f"{e.stream_id}: the discount request {e.request_id} escalated to you ({e.level_name})"
            extra = {}
        else:
            continue
        if e.deadline is not None:
            message += f"; unanswered, it moves on at {e.deadline:%Y-%m-%d %H:%M} UTC"
        details = {
            "request_id": e.request_id,
            "level_name": e.level_name,
            "deadline": e.deadline.isoformat() if e.deadline else None,
            **extra,
        }
        for approver in e.approvers:
            key = f"{e.event_id}:{approver}"
            notices.append(ApprovalNotice(key, approver, e.type, e.stream_id, message, details))
    return notices


async def put_approval_notices(store: EventStore, events: Sequence[DomainEvent]) -> int:
    """Store them; returns how many were new. A text PostgreSQL cannot hold is logged and skipped:
    the events are stored by now, and the append must not fail for good after that."""
    fresh = 0
    for n in approval_notices(events):
        try:
            fresh += await outbox.put(store, n.key, n.recipient, n.kind, n.stream_id, n.message, n.details)
        except psycopg.DataError as err:
            log.error("approval notification refused", key=n.key, error=str(err))
    return fresh
