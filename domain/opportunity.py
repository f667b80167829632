"""The rules of an opportunity's way through the pipeline: open, advance, lose, reopen.

Each `decide_*` checks a command against the rules and returns the event it produces, or raises
`RuleViolation` naming the broken rule. The state and its fold live in `domain.opportunity_state`
(re-exported here: `OpportunityState`, `apply`, `replay`); negotiation and follow-up rules have
modules of their own.
"""

from decimal import Decimal

from domain.commands import AdvanceStage, MarkLost, OpenOpportunity, Reopen, sent_by
from domain.contracts import ReviewStatus
from domain.errors import RuleViolation
from domain.event_envelope import EventMeta, envelope
from domain.inputs import (
    NAME,
    NOTE,
    check_opportunity_id,
    check_person,
    clean_amount,
    clean_facts,
    clean_text,
    shown,
)
from domain.opportunity_events import OpportunityLost, OpportunityOpened, OpportunityReopened, StageAdvanced
from domain.opportunity_state import (
    OPPORTUNITY,
    ContractReview,
    Loss,
    OpportunityState,
    StageVisit,
    apply,
    replay,
)
from domain.pipeline import Pipeline
from domain.stages import Stage

__all__ = [
    "OPPORTUNITY",
    "ContractReview",
    "Loss",
    "OpportunityState",
    "StageVisit",
    "apply",
    "decide_advance",
    "decide_lose",
    "decide_open",
    "decide_reopen",
    "missing_exit_criteria",
    "replay",
]


def _require_text(rule: str, **fields: str) -> None:
    for name, value in fields.items():
        if not value.strip():
            raise RuleViolation(rule, f"{name} must not be empty")


def _require_amount(amount: Decimal | None, pipeline: Pipeline) -> Decimal | None:
    return None if amount is None else clean_amount(amount, "amount", pipeline.amount_bounds)


def decide_open(cmd: OpenOpportunity, pipeline: Pipeline, meta: EventMeta) -> OpportunityOpened:
    meta = sent_by(cmd, meta)  # its events record who sent it
    if cmd.pipeline != pipeline.id:
        raise RuleViolation(
            "unknown-pipeline", f"opportunity names pipeline {shown(cmd.pipeline)}, not {pipeline.id!r}"
        )
    _require_text(
        "lead-recorded",
        opportunity_id=cmd.opportunity_id,
        owner=cmd.owner,
        company=cmd.company,
        contact_person=cmd.contact_person,
        source=cmd.source,
    )
    check_opportunity_id(cmd.opportunity_id, cmd.renewal_of)
    lead = {
        "owner": check_person(cmd.owner, "owner"),
        "company": clean_text(cmd.company, "company", NAME),
        "contact_person": clean_text(cmd.contact_person, "contact person", NAME),
        "source": clean_text(cmd.source, "source", NAME),
    }
    _require_text("lead-recorded", **lead)  # a name of only invisible spaces is empty too
    return OpportunityOpened(
        **envelope(cmd.opportunity_id, 1, meta),
        pipeline=cmd.pipeline,
        **lead,
        amount=_require_amount(cmd.amount, pipeline),
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
    meta = sent_by(cmd, meta)  # its events record who sent it
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
    amount = _require_amount(cmd.amount, pipeline)
    facts = clean_facts(cmd.facts)
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
    missing = missing_exit_criteria(state, pipeline, facts)
    if missing:
        raise RuleViolation(
            "exit-criteria",
            f"{state.opportunity_id} cannot leave {state.stage} before recording: {', '.join(missing)}",
        )
    return StageAdvanced(
        **envelope(state.opportunity_id, state.version + 1, meta),
        from_stage=state.stage,
        to_stage=cmd.to_stage,
        facts=facts,
        amount=amount,
    )


def decide_lose(state: OpportunityState, cmd: MarkLost, meta: EventMeta) -> OpportunityLost:
    meta = sent_by(cmd, meta)  # its events record who sent it
    note = clean_text(cmd.note, "note", NOTE)
    _require_not_lost(state, "mark as lost")
    if not state.stage.is_open:
        raise RuleViolation(
            "lost-before-deal", f"{state.opportunity_id} is already won ({state.stage}); it cannot be lost"
        )
    return OpportunityLost(
        **envelope(state.opportunity_id, state.version + 1, meta),
        stage=state.stage,
        reason=cmd.reason,
        note=note,
    )


def decide_reopen(state: OpportunityState, cmd: Reopen, meta: EventMeta) -> OpportunityReopened:
    meta = sent_by(cmd, meta)  # its events record who sent it
    clean_text(cmd.note, "note", NOTE)  # not recorded (the event has no note), but no junk either
    if state.lost is None:
        raise RuleViolation(
            "reopen-only-lost", f"{state.opportunity_id} is not lost; only a lost one is reopened"
        )
    return OpportunityReopened(
        **envelope(state.opportunity_id, state.version + 1, meta),
        stage=state.lost.stage,
    )
