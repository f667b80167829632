"""A customer relationship after the win, and how its events build it (`apply_after_sales`).

The workflow's state and a fold of the stored `<deal id>.after-sales` stream both come from
`RELATIONSHIP`.
"""

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, Field

from domain.after_sales_events import (
    AfterSalesStarted,
    FeedbackRecorded,
    RelationshipClosed,
    RenewalOpened,
    RevisitDue,
    RevisitMissed,
)
from domain.event_envelope import Event
from domain.fold import Fold


class RevisitStatus(StrEnum):
    OPEN = "open"  # due, waiting for feedback
    ANSWERED = "answered"
    MISSED = "missed"


class Revisit(BaseModel):
    number: int
    due_at: AwareDatetime
    status: RevisitStatus = RevisitStatus.OPEN
    score: int | None = None
    comment: str = ""
    answered_at: AwareDatetime | None = None


class RelationshipState(BaseModel):
    relationship_id: str
    deal_id: str
    pipeline: str
    owner: str
    customer: str
    contact_person: str
    amount: Decimal
    won_at: AwareDatetime
    revisits: list[Revisit] = Field(default_factory=list)
    renewals: list[str] = Field(default_factory=list)
    closed: str | None = None  # the reason, once closed
    version: int = 0

    def revisit(self, number: int) -> Revisit | None:
        return self.revisits[number - 1] if 1 <= number <= len(self.revisits) else None


def _started(event: AfterSalesStarted) -> RelationshipState:
    return RelationshipState(
        relationship_id=event.stream_id,
        deal_id=event.deal_id,
        pipeline=event.pipeline,
        owner=event.owner,
        customer=event.customer,
        contact_person=event.contact_person,
        amount=event.amount,
        won_at=event.won_at,
        version=1,
    )


RELATIONSHIP: Fold[RelationshipState] = Fold("an after-sales stream", AfterSalesStarted, _started)


def apply_after_sales(state: RelationshipState | None, event: Event) -> RelationshipState:
    """Return the relationship after `event`. The input state is not modified."""
    return RELATIONSHIP.apply(state, event)


def replay_after_sales(events: Iterable[Event]) -> RelationshipState | None:
    return RELATIONSHIP.replay(events)


@RELATIONSHIP.on(RevisitDue)
def _revisit_due(state: RelationshipState, event: RevisitDue) -> None:
    state.revisits.append(Revisit(number=event.number, due_at=event.due_at))


@RELATIONSHIP.on(RevisitMissed)
def _revisit_missed(state: RelationshipState, event: RevisitMissed) -> None:
    state.revisits[event.number - 1].status = RevisitStatus.MISSED


@RELATIONSHIP.on(FeedbackRecorded)
def _feedback_recorded(state: RelationshipState, event: FeedbackRecorded) -> None:
    revisit = state.revisits[event.number - 1]
    revisit.status, revisit.score, revisit.comment = RevisitStatus.ANSWERED, event.score, event.comment
    revisit.answered_at = event.occurred_at


@RELATIONSHIP.on(RenewalOpened)
def _renewal_opened(state: RelationshipState, event: RenewalOpened) -> None:
    state.renewals.append(event.renewal_id)


@RELATIONSHIP.on(RelationshipClosed)
def _closed(state: RelationshipState, event: RelationshipClosed) -> None:
    state.closed = event.reason
