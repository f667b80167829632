"""Rules for the negotiation work: discount requests and decisions, contract review, and what the
workflow's timers do when nobody answers. Each `decide_*` returns the events a command produces
(versions continuing the stream) or raises `RuleViolation`.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.approvals import (
    OWNER_LEVEL,
    ApprovalPolicy,
    RequestStatus,
    check_request,
    check_vote,
    vote_outcome,
)
from domain.commands import DecideContract, DecideDiscount, RequestDiscount, SubmitContract, sent_by
from domain.contracts import ClauseFailure, Contract, ContractPolicy, ReviewStatus
from domain.errors import RuleViolation
from domain.events import (
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
    StreamWriter,
)
from domain.inputs import (
    NOTE,
    AmountBounds,
    check_days,
    check_id,
    check_person,
    clean_amount,
    clean_percent,
    clean_text,
)
from domain.opportunity_state import OpportunityState
from domain.pipeline import Pipeline
from domain.stages import Stage

DISCOUNT_STAGES = (Stage.PROPOSAL, Stage.NEGOTIATION)


def _policy(pipeline: Pipeline) -> ApprovalPolicy:
    if pipeline.approvals is None:
        raise RuleViolation("approvals-configured", f"pipeline {pipeline.id!r} grants no discounts")
    return pipeline.approvals


def _contract_policy(pipeline: Pipeline) -> ContractPolicy:
    if pipeline.contract is None:
        raise RuleViolation("contract-configured", f"pipeline {pipeline.id!r} has no contract review")
    return pipeline.contract


def _require_open(state: OpportunityState, action: str, stages: tuple[Stage, ...]) -> None:
    if state.lost is not None:
        raise RuleViolation("not-while-lost", f"cannot {action}: {state.opportunity_id} is lost")
    if state.stage not in stages:
        names = " or ".join(s.value for s in stages)
        raise RuleViolation("stage-allows", f"cannot {action} in {state.stage}; only in {names}")


def _level_name(policy: ApprovalPolicy, level: int | None) -> str:
    return OWNER_LEVEL if level is None else policy.levels[level].name


def _routing(
    policy: ApprovalPolicy, level: int | None, discount: Decimal, owner: str, meta: EventMeta
) -> dict[str, Any]:
    """Who may decide a request at `level` and by when, recorded on the event so that readers of
    the store (an approvals inbox) follow the deal's own policy, not today's configuration."""
    if level is None:
        return {}
    return {
        "approvers": policy.may_decide(level, discount, owner),
        "deadline": meta.occurred_at + timedelta(hours=policy.timeout_hours),
    }


def decide_discount_request(
    state: OpportunityState, pipeline: Pipeline, cmd: RequestDiscount, meta: EventMeta
) -> list[DomainEvent]:
    meta = sent_by(cmd, meta)  # its events record who sent it
    policy = _policy(pipeline)
    _require_open(state, "request a discount", DISCOUNT_STAGES)
    discount = clean_percent(cmd.discount, "discount", zero_allowed=False)
    comment = clean_text(cmd.comment, "comment", NOTE)
    level = check_request(policy, discount, state.amount)
    current = state.discount_request
    supersedes = current.request_id if current and current.status is RequestStatus.PENDING else None
    out = StreamWriter(state.opportunity_id, state.version, meta)
    name = _level_name(policy, level)
    out.add(
        DiscountRequested,
        request_id=meta.event_id,
        discount=discount,
        amount=state.amount,
        level=level,
        level_name=name,
        supersedes=supersedes,
        comment=comment,
        **_routing(policy, level, discount, state.owner, meta),
    )
    if level is None:  # within the owner's own authority
        out.add(
            DiscountApproved,
            request_id=meta.event_id,
            discount=discount,
            level=None,
            level_name=name,
            approvers=(state.owner,),
        )
    return out.events


def decide_discount_vote(
    state: OpportunityState, pipeline: Pipeline, cmd: DecideDiscount, meta: EventMeta
) -> list[DomainEvent]:
    meta = sent_by(cmd, meta)  # its events record who sent it
    policy = _policy(pipeline)
    name = check_person(cmd.approver, "approver")
    comment = clean_text(cmd.comment, "comment", NOTE)
    request = state.discount_request
    approver = check_vote(policy, request, state.owner, name)
    assert request is not None  # check_vote guarantees it
    assert request.level is not None
    level, level_name = request.level, _level_name(policy, request.level)
    out = StreamWriter(state.opportunity_id, state.version, meta)
    out.add(
        DiscountVoted,
        request_id=request.request_id,
        approver=approver.name,
        role=approver.role,
        approve=cmd.approve,
        comment=comment,
        level=level,
        level_name=level_name,
    )
    after = request.model_copy(update={"votes": {**request.votes, approver.name: cmd.approve}})
    outcome = vote_outcome(policy, after, state.owner)
    if outcome is RequestStatus.APPROVED:
        approvers = tuple(n for n, ok in after.votes.items() if ok)
        out.add(
            DiscountApproved,
            request_id=request.request_id,
            discount=request.discount,
            level=level,
            level_name=level_name,
            approvers=approvers,
        )
    elif outcome is RequestStatus.REJECTED:
        out.add(
            DiscountRejected,
            request_id=request.request_id,
            level=level,
            level_name=level_name,
            approver=approver.name,
            comment=comment,
        )
    return out.events


def discount_deadline(state: OpportunityState, pipeline: Pipeline) -> datetime | None:
    """When the pending request escalates or expires if nobody decides it (None: nothing pending)."""
    request, policy = state.discount_request, pipeline.approvals
    if request is None or policy is None or request.status is not RequestStatus.PENDING:
        return None
    if request.level is None:  # the owner's own grant is decided at once
        return None
    return request.level_since + timedelta(hours=policy.timeout_hours)


def decide_discount_timeout(
    state: OpportunityState, pipeline: Pipeline, meta: EventMeta
) -> list[DomainEvent]:
    """Nobody decided in time: escalate to the next level that may decide, or expire at the top."""
    policy = _policy(pipeline)
    request = state.discount_request
    if request is None or request.status is not RequestStatus.PENDING or request.level is None:
        return []
    out = StreamWriter(state.opportunity_id, state.version, meta)
    nxt = policy.next_level(request.level, request.discount, request.amount)
    if nxt is None:
        out.add(
            DiscountExpired,
            request_id=request.request_id,
            level=request.level,
            level_name=_level_name(policy, request.level),
        )
    else:
        out.add(
            DiscountEscalated,
            request_id=request.request_id,
            from_level=request.level,
            to_level=nxt,
            level_name=_level_name(policy, nxt),
            **_routing(policy, nxt, request.discount, state.owner, meta),
        )
    return out.events


def decide_contract_submit(
    state: OpportunityState, pipeline: Pipeline, cmd: SubmitContract, meta: EventMeta
) -> list[DomainEvent]:
    meta = sent_by(cmd, meta)  # its events record who sent it
    _contract_policy(pipeline)
    _require_open(state, "submit a contract", (Stage.NEGOTIATION,))
    review = state.contract
    if review is not None and review.status in (ReviewStatus.CHECKING, ReviewStatus.AWAITING_LEGAL):
        raise RuleViolation(
            "one-review-at-a-time", f"contract {review.contract.contract_id} is still under review"
        )
    if review is not None and review.status is ReviewStatus.SIGNED_OFF:
        raise RuleViolation(
            "contract-signed", f"contract {review.contract.contract_id} is already signed off"
        )
    contract = clean_contract(cmd.contract, pipeline.amount_bounds)
    out = StreamWriter(state.opportunity_id, state.version, meta)
    out.add(ContractSubmitted, contract=contract)
    return out.events


def clean_contract(contract: Contract, bounds: AmountBounds) -> Contract:
    """The contract as the event records it: an id, bounded figures (`domain.inputs`)."""
    cap = contract.liability_cap
    return Contract(
        contract_id=check_id(contract.contract_id, "contract id"),
        total=clean_amount(contract.total, "contract total", bounds),
        discount=clean_percent(contract.discount, "contract discount", zero_allowed=True),
        payment_terms_days=check_days(contract.payment_terms_days, "payment terms"),
        liability_cap=None if cap is None else clean_amount(cap, "liability cap", bounds),
    )


def decide_contract_checked(
    state: OpportunityState, failures: list[ClauseFailure], meta: EventMeta
) -> list[DomainEvent]:
    review = state.contract
    if review is None or review.status is not ReviewStatus.CHECKING:
        return []
    out = StreamWriter(state.opportunity_id, state.version, meta)
    out.add(ContractChecked, contract_id=review.contract.contract_id, failures=tuple(failures))
    return out.events


def decide_legal(
    state: OpportunityState, pipeline: Pipeline, cmd: DecideContract, meta: EventMeta
) -> list[DomainEvent]:
    meta = sent_by(cmd, meta)  # its events record who sent it
    contract_policy = _contract_policy(pipeline)
    by = check_person(cmd.by, "by")
    comment = clean_text(cmd.comment, "comment", NOTE)
    review = state.contract
    if review is None or review.status is not ReviewStatus.AWAITING_LEGAL:
        status = review.status.value if review else "no contract"
        raise RuleViolation("legal-review-open", f"no contract is waiting for legal sign-off ({status})")
    person = _policy(pipeline).approver(by)
    if person.role not in (contract_policy.legal_role, contract_policy.legal_lead_role):
        raise RuleViolation("legal-role", f"{by} ({person.role}) cannot sign off contracts; legal must")
    if by == state.owner:
        raise RuleViolation("no-self-approval", f"{by} owns this deal")
    out = StreamWriter(state.opportunity_id, state.version, meta)
    out.add(
        LegalDecided,
        contract_id=review.contract.contract_id,
        by=by,
        role=person.role,
        approve=cmd.approve,
        comment=comment,
    )
    return out.events


def legal_deadline(state: OpportunityState, pipeline: Pipeline) -> datetime | None:
    """When legal's silence escalates the review to the legal lead, or (escalated) expires it."""
    review, policy = state.contract, pipeline.contract
    if review is None or policy is None or review.status is not ReviewStatus.AWAITING_LEGAL:
        return None
    hours = policy.legal_escalation_hours if review.escalated else policy.legal_timeout_hours
    return review.since + timedelta(hours=hours)


def decide_legal_timeout(state: OpportunityState, meta: EventMeta) -> list[DomainEvent]:
    """Legal did not answer: ask the legal lead, then let the review expire."""
    review = state.contract
    if review is None or review.status is not ReviewStatus.AWAITING_LEGAL:
        return []
    out = StreamWriter(state.opportunity_id, state.version, meta)
    if review.escalated:
        out.add(LegalReviewExpired, contract_id=review.contract.contract_id)
    else:
        out.add(LegalReviewEscalated, contract_id=review.contract.contract_id)
    return out.events
