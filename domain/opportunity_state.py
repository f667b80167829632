"""What an opportunity is at a moment, and how its events build it (`apply` one, `replay` a stream).

The state in a workflow and a fold of the stored stream are equal: both come from `OPPORTUNITY`.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from domain.approvals import DiscountRequest, RequestStatus
from domain.contracts import ClauseFailure, Contract, ReviewStatus
from domain.event_envelope import Event
from domain.fold import Fold, fitting
from domain.follow_up_events import NAGS, NOT_WORK, StallEscalated, StallReminded, TouchLogged
from domain.negotiation_events import (
    ContractChecked,
    ContractSubmitted,
    DiscountApproved,
    DiscountDecisionRefused,
    DiscountEscalated,
    DiscountExpired,
    DiscountRejected,
    DiscountRequested,
    DiscountVoted,
    LegalDecided,
    LegalReviewEscalated,
    LegalReviewExpired,
)
from domain.opportunity_events import (
    ExpectedCloseDateSet,
    ForecastCategorySet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    StageAdvanced,
)
from domain.stages import ForecastCategory, LossReason, Stage


class StageVisit(BaseModel):
    stage: Stage
    entered_at: AwareDatetime
    exited_at: AwareDatetime | None = None


class Loss(BaseModel):
    stage: Stage
    reason: LossReason
    note: str
    at: AwareDatetime


class ContractReview(BaseModel):
    contract: Contract
    status: ReviewStatus
    since: AwareDatetime  # when the current wait began (checks, legal, escalated legal)
    failures: list[ClauseFailure] = Field(default_factory=list)
    escalated: bool = False
    decided_by: str | None = None


# How many refused decisions a deal's state keeps (the store keeps them all).
REFUSALS_KEPT = 10


class RefusedDecision(BaseModel):
    """A discount decision sent as a signal that the rules refused: what the sender can look up."""

    decision_request_id: str  # the request id it was sent with
    request_id: str | None  # the discount request open then, if any
    approver: str
    approve: bool
    rule: str
    message: str
    at: AwareDatetime
    actor: str | None = None


class OpportunityState(BaseModel):
    opportunity_id: str
    pipeline: str
    owner: str
    company: str
    contact_person: str
    source: str
    amount: Decimal
    stage: Stage
    renewal_of: str | None = None
    lost: Loss | None = None
    facts: dict[str, str] = Field(default_factory=dict)
    timeline: list[StageVisit] = Field(default_factory=list)
    discount_request: DiscountRequest | None = None  # the latest one
    approved_discount: Decimal = Decimal(0)
    contract: ContractReview | None = None
    last_activity_at: AwareDatetime  # the idle clock of follow-up timers starts here
    stall_level: int = 0  # 0 quiet, 1 owner reminded, 2 manager told (since the last activity)
    refused_decisions: list[RefusedDecision] = Field(default_factory=list)  # the latest, oldest first
    expected_close_date: date | None = None  # from ExpectedCloseDateSet (older deals: only a fact)
    close_date_pushes: int = 0  # how many times the close date moved later
    forecast_category: ForecastCategory | None = None  # set on the deal; None: its stage's
    version: int = 0

    @property
    def status(self) -> str:
        """`lost`, or the current stage's name."""
        return "lost" if self.lost else self.stage.value


def _opened(event: OpportunityOpened) -> OpportunityState:
    return OpportunityState(
        opportunity_id=event.stream_id,
        pipeline=event.pipeline,
        owner=event.owner,
        company=event.company,
        contact_person=event.contact_person,
        source=event.source,
        amount=event.amount,
        renewal_of=event.renewal_of,
        stage=Stage.IDENTIFY,
        facts={"company": event.company, "contact_person": event.contact_person, "source": event.source},
        timeline=[StageVisit(stage=Stage.IDENTIFY, entered_at=event.occurred_at)],
        last_activity_at=event.occurred_at,
        version=1,
    )


OPPORTUNITY: Fold[OpportunityState] = Fold("an opportunity stream", OpportunityOpened, _opened)


def apply(state: OpportunityState | None, event: Event) -> OpportunityState:
    """Return the state after `event`. The input state is not modified."""
    return OPPORTUNITY.apply(state, event)


def replay(events: Iterable[Event]) -> OpportunityState | None:
    return OPPORTUNITY.replay(events)


@OPPORTUNITY.on_every
def _idle_clock(state: OpportunityState, event: Event) -> None:
    # Any work on the deal restarts the follow-up clock; the engine's own nagging only counts up,
    # and a refused decision (NOT_WORK) leaves it be.
    name = type(event).__name__
    if name in NAGS:
        state.stall_level += 1
    elif name not in NOT_WORK:
        state.last_activity_at, state.stall_level = event.occurred_at, 0


# --- the pipeline ------------------------------------------------------------------------------


def _close_visit(state: OpportunityState, at: datetime) -> None:
    if state.timeline and state.timeline[-1].exited_at is None:
        state.timeline[-1].exited_at = at


@OPPORTUNITY.on(StageAdvanced)
def _advanced(state: OpportunityState, event: StageAdvanced) -> None:
    _close_visit(state, event.occurred_at)
    state.stage = event.to_stage
    state.facts.update(event.facts)
    if event.amount is not None:
        state.amount = event.amount
    state.timeline.append(StageVisit(stage=event.to_stage, entered_at=event.occurred_at))


@OPPORTUNITY.on(OpportunityLost)
def _lost(state: OpportunityState, event: OpportunityLost) -> None:
    _close_visit(state, event.occurred_at)
    state.lost = Loss(stage=event.stage, reason=event.reason, note=event.note, at=event.occurred_at)


@OPPORTUNITY.on(OpportunityReopened)
def _reopened(state: OpportunityState, event: OpportunityReopened) -> None:
    state.lost = None
    state.stage = event.stage
    state.timeline.append(StageVisit(stage=event.stage, entered_at=event.occurred_at))


@OPPORTUNITY.on(ExpectedCloseDateSet)
def _close_date_set(state: OpportunityState, event: ExpectedCloseDateSet) -> None:
    if event.previous is not None and event.expected_close_date > event.previous:
        state.close_date_pushes += 1
    state.expected_close_date = event.expected_close_date
    state.facts["expected_close_date"] = event.expected_close_date.isoformat()


@OPPORTUNITY.on(ForecastCategorySet)
def _forecast_category_set(state: OpportunityState, event: ForecastCategorySet) -> None:
    state.forecast_category = event.category


# --- discount approval -------------------------------------------------------------------------


@OPPORTUNITY.on(DiscountRequested)
def _discount_requested(state: OpportunityState, event: DiscountRequested) -> None:
    state.discount_request = DiscountRequest(
        request_id=event.request_id,
        discount=event.discount,
        amount=event.amount,
        requested_at=event.occurred_at,
        level=event.level,
        level_since=event.occurred_at,
        comment=event.comment,
    )


@OPPORTUNITY.on(DiscountVoted)
def _discount_voted(state: OpportunityState, event: DiscountVoted) -> None:
    request = fitting(state.discount_request, event)
    request.votes[event.approver] = event.approve
    request.voted.append(event.approver)


@OPPORTUNITY.on(DiscountApproved)
def _discount_approved(state: OpportunityState, event: DiscountApproved) -> None:
    request = fitting(state.discount_request, event)
    request.status = RequestStatus.APPROVED
    request.decided_by = list(event.approvers)
    state.approved_discount = event.discount


@OPPORTUNITY.on(DiscountRejected)
def _discount_rejected(state: OpportunityState, event: DiscountRejected) -> None:
    request = fitting(state.discount_request, event)
    request.status = RequestStatus.REJECTED
    request.decided_by = [event.approver]
    request.comment = event.comment


@OPPORTUNITY.on(DiscountEscalated)
def _discount_escalated(state: OpportunityState, event: DiscountEscalated) -> None:
    request = fitting(state.discount_request, event)
    request.level, request.level_since, request.votes = event.to_level, event.occurred_at, {}


@OPPORTUNITY.on(DiscountExpired)
def _discount_expired(state: OpportunityState, event: DiscountExpired) -> None:
    fitting(state.discount_request, event).status = RequestStatus.EXPIRED


@OPPORTUNITY.on(DiscountDecisionRefused)
def _decision_refused(state: OpportunityState, event: DiscountDecisionRefused) -> None:
    """The request stays as it was: the refusal is only remembered, the latest few of them."""
    refused = RefusedDecision(
        decision_request_id=event.decision_request_id,
        request_id=event.request_id,
        approver=event.approver,
        approve=event.approve,
        rule=event.rule,
        message=event.message,
        at=event.occurred_at,
        actor=event.actor,
    )
    state.refused_decisions = [*state.refused_decisions, refused][-REFUSALS_KEPT:]


# --- contract review ---------------------------------------------------------------------------


@OPPORTUNITY.on(ContractSubmitted)
def _contract_submitted(state: OpportunityState, event: ContractSubmitted) -> None:
    state.contract = ContractReview(
        contract=event.contract, status=ReviewStatus.CHECKING, since=event.occurred_at
    )


@OPPORTUNITY.on(ContractChecked)
def _contract_checked(state: OpportunityState, event: ContractChecked) -> None:
    review = fitting(state.contract, event)
    review.failures = list(event.failures)
    review.status = ReviewStatus.CHECKS_FAILED if event.failures else ReviewStatus.AWAITING_LEGAL
    review.since = event.occurred_at


@OPPORTUNITY.on(LegalReviewEscalated)
def _legal_escalated(state: OpportunityState, event: LegalReviewEscalated) -> None:
    review = fitting(state.contract, event)
    review.escalated, review.since = True, event.occurred_at


@OPPORTUNITY.on(LegalReviewExpired)
def _legal_expired(state: OpportunityState, event: LegalReviewExpired) -> None:
    fitting(state.contract, event).status = ReviewStatus.EXPIRED


@OPPORTUNITY.on(LegalDecided)
def _legal_decided(state: OpportunityState, event: LegalDecided) -> None:
    review = fitting(state.contract, event)
    review.status = ReviewStatus.SIGNED_OFF if event.approve else ReviewStatus.REJECTED
    review.decided_by = event.by


# --- follow-up ---------------------------------------------------------------------------------


@OPPORTUNITY.on(TouchLogged, StallReminded, StallEscalated)
def _idle_clock_only(state: OpportunityState, event: Event) -> None:
    """The idle clock (`_idle_clock`) is all they change."""
