"""A discount decision that arrives as a signal, from a producer that cannot wait for the answer
(a mail-reply handler, a chat bot), with the request id it was sent under.

It is judged by the very rules the update is (`domain.negotiation.decide_discount_vote`, the
command's actor included): accepted, it produces exactly the update's
events. Refused, it produces one `DiscountDecisionRefused`, since nobody is waiting to hear the
refusal: the approver's inbox shows it, and it changes nothing else (not the request, not the idle
clock). A value the rules refused as malformed is recorded as quoted (`domain.inputs.shown`), so
the refusal itself always stores.
"""

from collections.abc import Callable

from domain.approvals import RequestStatus
from domain.commands import DecideDiscount
from domain.errors import RuleViolation
from domain.events import DiscountDecisionRefused, DomainEvent, EventMeta, envelope
from domain.inputs import ID_MAX, NOTE_MAX, check_actor, check_person, check_request_id, shown
from domain.negotiation import decide_discount_vote
from domain.opportunity_state import OpportunityState
from domain.pipeline import Pipeline


def decide_signalled_vote(
    state: OpportunityState, pipeline: Pipeline, cmd: DecideDiscount, request_id: str, meta: EventMeta
) -> list[DomainEvent]:
    """The vote's events if the rules accept it, else the one event that records its refusal."""
    try:
        check_request_id(request_id)
        return decide_discount_vote(state, pipeline, cmd, meta)
    except RuleViolation as refused:
        return [refuse_decision(state, cmd, request_id, refused, meta)]


def refuse_decision(
    state: OpportunityState, cmd: DecideDiscount, request_id: str, refused: RuleViolation, meta: EventMeta
) -> DiscountDecisionRefused:
    """The refusal of a decision sent as a signal, as the stream records it."""
    open_request = state.discount_request
    pending = open_request is not None and open_request.status is RequestStatus.PENDING
    actor = meta.model_copy(update={"actor": _or_none(cmd.actor)})
    return DiscountDecisionRefused(
        **envelope(state.opportunity_id, state.version + 1, actor),
        decision_request_id=_quoted(request_id, check_request_id),
        request_id=open_request.request_id if open_request is not None and pending else None,
        approver=_quoted(cmd.approver, lambda v: check_person(v, "approver")),
        approve=cmd.approve,
        rule=refused.rule,
        message=refused.message[:NOTE_MAX],
    )


def _quoted(value: str, check: Callable[[str], str]) -> str:
    try:
        return check(value)
    except RuleViolation:
        return shown(value, ID_MAX)


def _or_none(actor: str | None) -> str | None:
    try:
        return check_actor(actor)
    except RuleViolation:
        return None


def rememberable(request_id: str) -> bool:
    """Whether a signal's request id is of the form kept to apply it once (any other is refused)."""
    try:
        check_request_id(request_id)
    except RuleViolation:
        return False
    return True
