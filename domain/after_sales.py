"""After-sales (售后服务, 003: 定期客户回访): once a deal is won, the customer is revisited on a schedule.

Revisits come due at the pipeline's offsets from the day the deal was won (e.g. 7, 30 and 90 days),
then every `every_days` until the relationship is closed. Each revisit asks the customer for
feedback (a score of 1 to 5 and a comment); a revisit still without feedback when the next one comes
due is marked missed. A revisit can turn up new business: a renewal, which is a new opportunity for
the same customer, linked to the deal it came from.

The relationship is its own event stream, `<deal id>.after-sales`, so the deal's stream stays as it
was when it was won. Here: the policy, the commands and the rules; the relationship's state and
its fold are in `domain.after_sales_state` (re-exported here).
"""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from domain.after_sales_events import (
    AfterSalesStarted,
    FeedbackRecorded,
    RelationshipClosed,
    RenewalOpened,
    RevisitDue,
    RevisitMissed,
)
from domain.after_sales_state import (
    RELATIONSHIP,
    RelationshipState,
    Revisit,
    RevisitStatus,
    apply_after_sales,
    replay_after_sales,
)
from domain.commands import Command, sent_by
from domain.errors import RuleViolation
from domain.events import DomainEvent, EventMeta, StreamWriter, envelope
from domain.inputs import (
    DEFAULT_BOUNDS,
    NAME,
    NOTE,
    RELATIONSHIP_SUFFIX,
    RENEWAL_INFIX,
    AmountBounds,
    check_opportunity_id,
    check_person,
    clean_amount,
    clean_text,
    shown,
)

__all__ = [
    "RELATIONSHIP",
    "AfterSalesPolicy",
    "CloseRelationship",
    "DealWon",
    "OpenRenewal",
    "RecordFeedback",
    "RelationshipState",
    "Revisit",
    "RevisitStatus",
    "apply_after_sales",
    "decide_close",
    "decide_feedback",
    "decide_renewal",
    "decide_revisit",
    "decide_start",
    "next_revisit_due",
    "relationship_id",
    "renewal_id",
    "replay_after_sales",
]


class AfterSalesPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    revisit_after_days: tuple[int, ...] = (7, 30, 90)  # from the day the deal was won
    then_every_days: int = Field(default=180, gt=0)

    @field_validator("revisit_after_days")
    @classmethod
    def _increasing(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days or days[0] <= 0 or any(b <= a for a, b in itertools.pairwise(days)):
            raise ValueError("revisit_after_days must be positive and strictly increasing, e.g. [7, 30, 90]")
        return days

    def days_after_win(self, number: int) -> int:
        """How many days after the win revisit `number` (from 1) comes due."""
        offsets = self.revisit_after_days
        if number <= len(offsets):
            return offsets[number - 1]
        return offsets[-1] + self.then_every_days * (number - len(offsets))

    def due_at(self, won_at: datetime, number: int) -> datetime:
        return won_at + timedelta(days=self.days_after_win(number))


# --- what after-sales is told and asked -------------------------------------------------------


class DealWon(BaseModel):
    """What after-sales needs to know of the deal that was won."""

    model_config = ConfigDict(frozen=True)

    deal_id: str
    pipeline: str
    owner: str
    customer: str
    contact_person: str
    amount: Decimal
    won_at: AwareDatetime


class RecordFeedback(Command):
    """The customer's answer to a revisit; `revisit` defaults to the latest one."""

    score: int
    comment: str = ""
    by: str
    revisit: int | None = None


class OpenRenewal(Command):
    amount: Decimal
    by: str
    note: str = ""


class CloseRelationship(Command):
    reason: str
    by: str


def relationship_id(deal_id: str) -> str:
    return f"{deal_id}{RELATIONSHIP_SUFFIX}"


def renewal_id(state: RelationshipState) -> str:
    return f"{state.deal_id}{RENEWAL_INFIX}{len(state.renewals) + 1}"


# --- decisions ---------------------------------------------------------------------------------


def decide_start(deal: DealWon, meta: EventMeta) -> AfterSalesStarted:
    return AfterSalesStarted(**envelope(relationship_id(deal.deal_id), 1, meta), **deal.model_dump())


def next_revisit_due(state: RelationshipState, policy: AfterSalesPolicy) -> datetime | None:
    if state.closed is not None:
        return None
    return policy.due_at(state.won_at, len(state.revisits) + 1)


def decide_revisit(state: RelationshipState, policy: AfterSalesPolicy, meta: EventMeta) -> list[DomainEvent]:
    """The next revisit's time has come: the previous one, still unanswered, is missed."""
    due = next_revisit_due(state, policy)
    if due is None or meta.occurred_at < due:
        return []
    out = StreamWriter(state.relationship_id, state.version, meta)
    last = state.revisits[-1] if state.revisits else None
    if last is not None and last.status is RevisitStatus.OPEN:
        out.add(RevisitMissed, number=last.number)
    out.add(RevisitDue, number=len(state.revisits) + 1, due_at=due, owner=state.owner)
    return out.events


def _require_open(state: RelationshipState) -> None:
    if state.closed is not None:
        raise RuleViolation("relationship-open", f"{state.relationship_id} was closed ({state.closed})")


def decide_feedback(state: RelationshipState, cmd: RecordFeedback, meta: EventMeta) -> FeedbackRecorded:
    meta = sent_by(cmd, meta)  # its events record who sent it
    _require_open(state)
    if not 1 <= cmd.score <= 5:
        raise RuleViolation("feedback-score", f"a feedback score is 1 to 5, got {shown(cmd.score)}")
    if not cmd.by.strip():
        raise RuleViolation("feedback-recorded", "say who took the feedback (by)")
    by, comment = check_person(cmd.by, "by"), clean_text(cmd.comment, "comment", NOTE)
    if not state.revisits:
        raise RuleViolation("revisit-due", "no revisit has come due yet: feedback belongs to a revisit")
    number = cmd.revisit if cmd.revisit is not None else state.revisits[-1].number
    revisit = state.revisit(number)
    if revisit is None:
        raise RuleViolation(
            "revisit-due", f"revisit {number} has not come due (latest: {len(state.revisits)})"
        )
    if revisit.status is not RevisitStatus.OPEN:
        raise RuleViolation("revisit-open", f"revisit {number} is {revisit.status.value}: feedback is closed")
    return FeedbackRecorded(
        **envelope(state.relationship_id, state.version + 1, meta),
        number=number,
        score=cmd.score,
        comment=comment,
        by=by,
    )


def decide_renewal(
    state: RelationshipState, cmd: OpenRenewal, meta: EventMeta, bounds: AmountBounds = DEFAULT_BOUNDS
) -> RenewalOpened:
    """`bounds` are the deal's pipeline's (`Pipeline.amount_bounds`): the renewal opens in it."""
    meta = sent_by(cmd, meta)  # its events record who sent it
    _require_open(state)
    amount = clean_amount(cmd.amount, "amount", bounds)
    if not cmd.by.strip():
        raise RuleViolation("renewal-recorded", "say who found the renewal (by)")
    by, note = check_person(cmd.by, "by"), clean_text(cmd.note, "note", NOTE)
    new_id = renewal_id(state)
    check_opportunity_id(new_id, state.deal_id)  # a chain of renewals may grow past an id's length
    return RenewalOpened(
        **envelope(state.relationship_id, state.version + 1, meta),
        renewal_id=new_id,
        amount=amount,
        by=by,
        note=note,
    )


def decide_close(state: RelationshipState, cmd: CloseRelationship, meta: EventMeta) -> RelationshipClosed:
    meta = sent_by(cmd, meta)  # its events record who sent it
    _require_open(state)
    reason = clean_text(cmd.reason, "reason", NAME)
    if not reason or not cmd.by.strip():
        raise RuleViolation("close-recorded", "closing a relationship needs a reason and who closed it")
    by = check_person(cmd.by, "by")
    return RelationshipClosed(
        **envelope(state.relationship_id, state.version + 1, meta), reason=reason, by=by
    )
