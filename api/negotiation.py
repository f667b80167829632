"""/v1/opportunities/{id}/discount and /contract: request and decide a discount, submit and decide a
contract. The approver and the legal signer are the caller; a service account never decides.

A discount decision is a Temporal update by default: the caller learns the outcome at once (200
with the deal's state). With `Prefer: respond-async` (or `?wait=false`) it is sent as a signal
instead, for producers that cannot wait: 202 with the request id; the deal checks it by the same
rules, and a refusal is recorded where the inbox shows it."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.auth import Reader, RequestId
from api.models import (
    ContractBody,
    ContractDecisionBody,
    DecisionQueued,
    DiscountDecisionBody,
    DiscountRequestBody,
)
from api.opportunities import DealId
from api.problems import PROBLEMS
from api.routing import Route, shaped
from domain.authorization import Action
from domain.commands import DecideContract, DecideDiscount, RequestDiscount, SubmitContract
from domain.contracts import Contract
from domain.opportunity import OpportunityState

router = APIRouter(prefix="/v1/opportunities", tags=["negotiation"], route_class=Route, responses=PROBLEMS)


@router.post("/{opportunity_id}/discount", response_model=OpportunityState, summary="Request a discount")
async def request_discount(
    opportunity_id: DealId, body: DiscountRequestBody, caller: Reader, rid: RequestId
) -> Response:
    """The owner (or whoever may move the deal) asks; the deal's policy says who must decide."""
    await caller.may_on(Action.MOVE, opportunity_id)
    cmd = RequestDiscount(discount=body.discount, comment=body.comment, actor=caller.actor)
    return shaped(await (await caller.deals()).request_discount(opportunity_id, cmd, request_id=rid))


@router.post(
    "/{opportunity_id}/discount/decision",
    response_model=OpportunityState,
    summary="Approve or reject the pending discount",
    responses={202: {"model": DecisionQueued, "description": "sent as a signal (Prefer: respond-async)"}},
)
async def decide_discount(
    opportunity_id: DealId,
    body: DiscountDecisionBody,
    caller: Reader,
    rid: RequestId,
    prefer: Annotated[
        str | None,
        Header(max_length=200, description="`respond-async`: send the decision as a signal, answer 202"),
    ] = None,
    wait: Annotated[bool, Query(description="false: the same as Prefer: respond-async")] = True,
) -> Response:
    """A manager's or director's decision, as themselves (the deal's policy checks their level,
    limit and that they do not own it)."""
    await caller.may_on(Action.DECIDE_DISCOUNT, opportunity_id)
    approver = caller.named(body.approver, "approver")
    cmd = DecideDiscount(approver=approver, approve=body.approve, comment=body.comment, actor=caller.actor)
    deals = await caller.deals()
    if not wait or _respond_async(prefer):
        sent = await deals.signal_discount_decision(opportunity_id, cmd, request_id=rid)
        queued = DecisionQueued(request_id=sent, opportunity_id=opportunity_id)
        return shaped(queued, 202, headers={"Preference-Applied": "respond-async"})
    return shaped(await deals.decide_discount(opportunity_id, cmd, request_id=rid))


def _respond_async(prefer: str | None) -> bool:
    preferences = {p.strip().split("=")[0].strip().lower() for p in (prefer or "").split(",")}
    return "respond-async" in preferences


@router.post(
    "/{opportunity_id}/contract",
    response_model=OpportunityState,
    summary="Submit the drafted contract (answers once the clause checks have run)",
)
async def submit_contract(
    opportunity_id: DealId, body: ContractBody, caller: Reader, rid: RequestId
) -> Response:
    await caller.may_on(Action.MOVE, opportunity_id)
    contract = Contract(**body.model_dump())
    cmd = SubmitContract(contract=contract, actor=caller.actor)
    return shaped(await (await caller.deals()).submit_contract(opportunity_id, cmd, request_id=rid))


@router.post(
    "/{opportunity_id}/contract/decision",
    response_model=OpportunityState,
    summary="Legal's sign-off or rejection of the contract under review",
)
async def decide_contract(
    opportunity_id: DealId, body: ContractDecisionBody, caller: Reader, rid: RequestId
) -> Response:
    await caller.may_on(Action.DECIDE_CONTRACT, opportunity_id)
    by = caller.named(body.by, "by")
    cmd = DecideContract(by=by, approve=body.approve, comment=body.comment, actor=caller.actor)
    return shaped(await (await caller.deals()).decide_contract(opportunity_id, cmd, request_id=rid))
