"""One opportunity: its state, the rules a command must pass, and the fold of events into state.

`decide_*` functions check a command against the rules and return the event it produces, or raise
`RuleViolation` naming the broken rule. `apply` folds an event into the state; `replay` folds a stream.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from domain.approvals import DiscountRequest, RequestStatus
from domain.commands import AdvanceStage, MarkLost, OpenOpportunity, Reopen
from domain.contracts import ClauseFailure, Contract, ReviewStatus
from domain.errors import RuleViolation
from domain.events import (
    NAGS,
    ContractChecked,
    ContractSubmitted,
    DiscountApproved,
    DiscountEscalated,
    DiscountExpired,
    DiscountRejected,
    DiscountRequested,
    DiscountVoted,
    DomainEvent,
    EventMeta,
    LegalDecided,
    LegalReviewEscalated,
    LegalReviewExpired,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    StageAdvanced,
    StallEscalated,
    StallReminded,
    TouchLogged,
    envelope,
)
from domain.pipeline import Pipeline
from domain.stages import LossReason, Stage


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
    version: int = 0

    @property
    def status(self) -> str:
        """`lost`, or the current stage's name."""
        return "lost" if self.lost else self.stage.value


# --- rules -----------------------------------------------------------------------------------


def _require_text(rule: str, **fields: str) -> None:
    for name, value in fields.items():
        if not value.strip():
            raise RuleViolation(rule, f"{name} must not be empty")


def _require_amount(amount: Decimal | None) -> None:
    if amount is not None and (not amount.is_finite() or amount < 0):
        raise RuleViolation("amount-not-negative", f"amount must be a finite number >= 0, got {amount}")


def decide_open(cmd: OpenOpportunity, pipeline: Pipeline, meta: EventMeta) -> OpportunityOpened:
    if cmd.pipeline != pipeline.id:
        raise RuleViolation(
            "unknown-pipeline", f"opportunity names pipeline {cmd.pipeline!r}, not {pipeline.id!r}"
        )
    _require_text(
        "lead-recorded",
        opportunity_id=cmd.opportunity_id,
        owner=cmd.owner,
        company=cmd.company,
        contact_person=cmd.contact_person,
        source=cmd.source,
    )
    _require_amount(cmd.amount)
    return OpportunityOpened(
        **envelope(cmd.opportunity_id, 1, meta),
        pipeline=cmd.pipeline,
        owner=cmd.owner,
        company=cmd.company,
        contact_person=cmd.contact_person,
        source=cmd.source,
        amount=cmd.amount,
        renewal_of=cmd.renewal_of,
    )


def _require_not_lost(state: OpportunityState, action: str) -> None:
    if state.lost is not None:
        raise RuleViolation(
            "not-while-lost",
            f"cannot {action} {state.opportunity_id}: it was lost in {state.lost.stage}; reopen it first",
        )


def missing_exit_criteria(state: OpportunityState, pipeline: Pipeline, facts: dict[str, str]) -> list[str]:
    known = {k for k, v in (state.facts | facts).items() if v.strip()}
    return [c for c in pipeline.stage(state.stage).exit_criteria if c not in known]


def decide_advance(
    state: OpportunityState, pipeline: Pipeline, cmd: AdvanceStage, meta: EventMeta
) -> StageAdvanced:
    _require_not_lost(state, "advance")
    expected = state.stage.next
    if expected is None:
        raise RuleViolation(
            "forward-one-stage", f"{state.opportunity_id} is in {state.stage}, the last stage"
        )
    if cmd.to_stage != expected:
        raise RuleViolation(
            "forward-one-stage",
            f"{state.opportunity_id} is in {state.stage}: the only move forward is to {expected}, "
            f"not {cmd.to_stage}",
        )
    _require_amount(cmd.amount)
    if (
        cmd.to_stage is Stage.DEAL
        and pipeline.contract is not None
        and (state.contract is None or state.contract.status is not ReviewStatus.SIGNED_OFF)
    ):
        status = state.contract.status.value if state.contract else "not submitted"
        raise RuleViolation(
            "contract-signed-off",
            f"{state.opportunity_id} cannot close before its contract passes the clause checks"
            " and legal sign-off "
            f"(contract: {status})",
        )
    missing = missing_exit_criteria(state, pipeline, cmd.facts)
    if missing:
        raise RuleViolation(
            "exit-criteria",
            f"{state.opportunity_id} cannot leave {state.stage} before recording: {', '.join(missing)}",
        )
    return StageAdvanced(
        **envelope(state.opportunity_id, state.version + 1, meta),
        from_stage=state.stage,
        to_stage=cmd.to_stage,
        facts=cmd.facts,
        amount=cmd.amount,
    )


def decide_lose(state: OpportunityState, cmd: MarkLost, meta: EventMeta) -> OpportunityLost:
    _require_not_lost(state, "mark as lost")
    if not state.stage.is_open:
        raise RuleViolation(
            "lost-before-deal", f"{state.opportunity_id} is already won ({state.stage}); it cannot be lost"
        )
    return OpportunityLost(
        **envelope(state.opportunity_id, state.version + 1, meta),
        stage=state.stage,
        reason=cmd.reason,
        note=cmd.note,
    )


def decide_reopen(state: OpportunityState, cmd: Reopen, meta: EventMeta) -> OpportunityReopened:
    if state.lost is None:
        raise RuleViolation(
            "reopen-only-lost", f"{state.opportunity_id} is not lost; only a lost one is reopened"
        )
    return OpportunityReopened(
        **envelope(state.opportunity_id, state.version + 1, meta),
        stage=state.lost.stage,
    )


# --- fold ------------------------------------------------------------------------------------


def _close_visit(state: OpportunityState, at: datetime) -> None:
    if state.timeline and state.timeline[-1].exited_at is None:
        state.timeline[-1].exited_at = at


def apply(state: OpportunityState | None, event: DomainEvent) -> OpportunityState:
    """Return the state after `event`. The input state is not modified."""
    if isinstance(event, OpportunityOpened):
        if state is not None:
            raise ValueError(f"{event.stream_id}: OpportunityOpened on an existing stream")
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
    if state is None:
        raise ValueError(f"{event.stream_id}: stream does not start with OpportunityOpened")
    if event.version != state.version + 1:
        raise ValueError(f"{event.stream_id}: expected version {state.version + 1}, got {event.version}")
    new = state.model_copy(deep=True)
    new.version = event.version
    at = event.occurred_at
    if event.type in NAGS:
        new.stall_level += 1
    else:
        new.last_activity_at, new.stall_level = at, 0
    match event:
        case StageAdvanced():
            _close_visit(new, at)
            new.stage = event.to_stage
            new.facts.update(event.facts)
            if event.amount is not None:
                new.amount = event.amount
            new.timeline.append(StageVisit(stage=event.to_stage, entered_at=at))
        case OpportunityLost():
            _close_visit(new, at)
            new.lost = Loss(stage=event.stage, reason=event.reason, note=event.note, at=at)
        case OpportunityReopened():
            new.lost = None
            new.stage = event.stage
            new.timeline.append(StageVisit(stage=event.stage, entered_at=at))
        case _:
            _apply_negotiation(new, event)
    return new


def _apply_negotiation(state: OpportunityState, event: DomainEvent) -> None:
    at = event.occurred_at
    request = state.discount_request
    review = state.contract
    match event:
        case DiscountRequested():
            state.discount_request = DiscountRequest(
                request_id=event.request_id,
                discount=event.discount,
                amount=event.amount,
                requested_at=at,
                level=event.level,
                level_since=at,
                comment=event.comment,
            )
        case DiscountVoted() if request is not None:
            request.votes[event.approver] = event.approve
            request.voted.append(event.approver)
        case DiscountApproved() if request is not None:
            request.status = RequestStatus.APPROVED
            request.decided_by = list(event.approvers)
            state.approved_discount = event.discount
        case DiscountRejected() if request is not None:
            request.status = RequestStatus.REJECTED
            request.decided_by = [event.approver]
            request.comment = event.comment
        case DiscountEscalated() if request is not None:
            request.level, request.level_since, request.votes = event.to_level, at, {}
        case DiscountExpired() if request is not None:
            request.status = RequestStatus.EXPIRED
        case ContractSubmitted():
            state.contract = ContractReview(contract=event.contract, status=ReviewStatus.CHECKING, since=at)
        case ContractChecked() if review is not None:
            review.failures = list(event.failures)
            review.status = ReviewStatus.CHECKS_FAILED if event.failures else ReviewStatus.AWAITING_LEGAL
            review.since = at
        case LegalReviewEscalated() if review is not None:
            review.escalated, review.since = True, at
        case LegalReviewExpired() if review is not None:
            review.status = ReviewStatus.EXPIRED
        case LegalDecided() if review is not None:
            review.status = ReviewStatus.SIGNED_OFF if event.approve else ReviewStatus.REJECTED
            review.decided_by = event.by
        case TouchLogged() | StallReminded() | StallEscalated():
            pass  # the idle clock (in apply) is all they change
        case _:
            raise ValueError(f"{event.stream_id}: {event.type} v{event.version} does not fit the state")


def replay(events: Iterable[DomainEvent]) -> OpportunityState | None:
    state: OpportunityState | None = None
    for event in events:
        state = apply(state, event)
    return state
