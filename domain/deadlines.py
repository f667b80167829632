"""What a workflow waits for: the earliest deadline of a stream, and what to decide when it passes.

An opportunity has up to three at once (an unanswered discount request, a silent legal review, an
idle deal's SLA); a relationship has one (the next revisit). `decide` takes the state as it is
when the deadline passes, not as it was when the wait began: an update may have landed in the same
moment, and deciding on a stale state would number events that are already taken.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from domain.after_sales import AfterSalesPolicy, decide_revisit, next_revisit_due
from domain.after_sales_state import RelationshipState
from domain.event_envelope import EventMeta
from domain.events import DomainEvent
from domain.follow_up import decide_stall, stall_deadline
from domain.negotiation import (
    decide_discount_timeout,
    decide_legal_timeout,
    discount_deadline,
    legal_deadline,
)
from domain.opportunity_state import OpportunityState
from domain.pipeline import Pipeline

S = TypeVar("S")


@dataclass(frozen=True)
class Deadline(Generic[S]):
    at: datetime
    decide: Callable[[S, EventMeta], list[DomainEvent]]


def opportunity_deadline(state: OpportunityState, pipeline: Pipeline) -> Deadline[OpportunityState] | None:
    """The earliest pending deadline of the deal (on a tie: discount, then legal, then follow-up)."""
    deadlines: list[Deadline[OpportunityState]] = []
    if (at := discount_deadline(state, pipeline)) is not None:
        deadlines.append(Deadline(at, lambda s, meta: decide_discount_timeout(s, pipeline, meta)))
    if (at := legal_deadline(state, pipeline)) is not None:
        deadlines.append(Deadline(at, decide_legal_timeout))
    follow_up = pipeline.follow_up
    if follow_up is not None and (at := stall_deadline(state, pipeline, follow_up)) is not None:
        deadlines.append(Deadline(at, lambda s, meta: decide_stall(s, pipeline, follow_up, meta)))
    return min(deadlines, key=lambda d: d.at, default=None)


def relationship_deadline(
    state: RelationshipState, policy: AfterSalesPolicy
) -> Deadline[RelationshipState] | None:
    """The next revisit, if the relationship is still open."""
    at = next_revisit_due(state, policy)
    if at is None:
        return None
    return Deadline(at, lambda s, meta: decide_revisit(s, policy, meta))
