"""What the viewer may do on a deal now, by domain/authorization.py and the deal's state, and the
forms for it: an advance's fields are the exit criteria of the stage the deal is in."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from app.errors import BadInput
from domain.approvals import RequestStatus
from domain.authorization import Action
from domain.contracts import ReviewStatus
from domain.negotiation import DISCOUNT_STAGES
from domain.opportunity import OpportunityState
from domain.pipeline import Pipeline
from domain.stages import LossReason, Stage
from web.session import Viewer


@dataclass(frozen=True)
class Field:
    name: str
    value: str = ""
    required: bool = True


@dataclass(frozen=True)
class DealActions:
    advance_to: Stage | None = None  # the next stage, when the viewer may move the deal there
    advance_fields: list[Field] = field(default_factory=list)
    ask_amount: bool = False  # the quote may revise the amount (leaving proposal)
    touch: bool = False
    lose: bool = False
    loss_reasons: tuple[str, ...] = ()
    reopen: bool = False
    request_discount: bool = False
    decide_discount: bool = False
    decide_contract: bool = False

    @property
    def any(self) -> bool:
        return any(
            (
                self.advance_to,
                self.touch,
                self.lose,
                self.reopen,
                self.request_discount,
                self.decide_discount,
                self.decide_contract,
            )
        )


def deal_actions(
    viewer: Viewer, state: OpportunityState, pipeline: Pipeline | None, approvers: tuple[str, ...]
) -> DealActions:
    """`approvers`: who may decide the deal's pending discount now (the approvals inbox's answer)."""
    moves = viewer.may(Action.MOVE, state.owner)
    running = state.stage is not Stage.AFTER_SALES
    lost = state.lost is not None
    advance_to = state.stage.next if moves and running and not lost and pipeline else None
    fields = []
    if advance_to is not None and pipeline is not None:
        fields = [
            Field(name, state.facts.get(name, ""))
            for name in pipeline.stage(state.stage).exit_criteria
            if name not in ("company", "contact_person", "source")  # recorded at opening
        ]
    request = state.discount_request
    pending = request is not None and request.status is RequestStatus.PENDING
    review = state.contract
    return DealActions(
        advance_to=advance_to,
        advance_fields=fields,
        ask_amount=advance_to is Stage.NEGOTIATION,
        touch=moves and running and not lost,
        lose=moves and state.stage.is_open and not lost,
        loss_reasons=tuple(r.value for r in LossReason),
        reopen=moves and lost,
        request_discount=moves
        and not lost
        and not pending
        and pipeline is not None
        and pipeline.approvals is not None
        and state.stage in DISCOUNT_STAGES,
        decide_discount=pending
        and viewer.may(Action.DECIDE_DISCOUNT)
        and viewer.name in approvers
        and viewer.name != state.owner,
        decide_contract=review is not None
        and review.status is ReviewStatus.AWAITING_LEGAL
        and viewer.may(Action.DECIDE_CONTRACT),
    )


def parse_amount(text: str) -> Decimal | None:
    """An amount typed in a form ("120,000" reads too); None for an empty field."""
    text = text.strip().replace(",", "").replace(" ", "")
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        raise BadInput(f"{text[:40]!r} is not an amount") from None
