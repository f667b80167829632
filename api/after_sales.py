"""/v1/opportunities/{id}/after-sales: a won deal's customer relationship (revisits, feedback,
renewals), addressed by the deal's id. Who may act follows the deal's owner, as for its moves."""

from fastapi import APIRouter, Response

from api.auth import Reader, RequestId
from api.models import CloseBody, FeedbackBody, RenewBody
from api.opportunities import DealId
from api.problems import PROBLEMS
from api.routing import Route, shaped
from domain.after_sales import CloseRelationship, OpenRenewal, RecordFeedback, RelationshipState
from domain.authorization import Action

router = APIRouter(prefix="/v1/opportunities", tags=["after-sales"], route_class=Route, responses=PROBLEMS)


@router.get("/{opportunity_id}/after-sales", response_model=RelationshipState, summary="The relationship")
async def show_relationship(opportunity_id: DealId, caller: Reader) -> Response:
    caller.may(Action.READ)
    return shaped(await caller.dealflow.queries.relationship(opportunity_id))


@router.post(
    "/{opportunity_id}/after-sales/feedback",
    response_model=RelationshipState,
    summary="The customer's score (1-5) for a revisit",
)
async def record_feedback(
    opportunity_id: DealId, body: FeedbackBody, caller: Reader, rid: RequestId
) -> Response:
    await caller.may_on(Action.MOVE, opportunity_id)
    by = caller.named(body.by, "by", service_may_name=True)
    cmd = RecordFeedback(
        score=body.score, comment=body.comment, by=by, revisit=body.revisit, actor=caller.actor
    )
    return shaped(await (await caller.deals()).record_feedback(opportunity_id, cmd, request_id=rid))


@router.post(
    "/{opportunity_id}/after-sales/renewals",
    response_model=RelationshipState,
    status_code=201,
    summary="Open a renewal opportunity for the customer",
)
async def open_renewal(opportunity_id: DealId, body: RenewBody, caller: Reader, rid: RequestId) -> Response:
    """The renewal's id is the last of the relationship's `renewals`."""
    await caller.may_on(Action.MOVE, opportunity_id)
    by = caller.named(body.by, "by", service_may_name=True)
    cmd = OpenRenewal(amount=body.amount, by=by, note=body.note, actor=caller.actor)
    state = await (await caller.deals()).open_renewal(opportunity_id, cmd, request_id=rid)
    return shaped(state, 201)


@router.post(
    "/{opportunity_id}/after-sales/close", response_model=RelationshipState, summary="Close the relationship"
)
async def close_relationship(
    opportunity_id: DealId, body: CloseBody, caller: Reader, rid: RequestId
) -> Response:
    await caller.may_on(Action.MOVE, opportunity_id)
    by = caller.named(body.by, "by", service_may_name=True)
    cmd = CloseRelationship(reason=body.reason, by=by, actor=caller.actor)
    return shaped(await (await caller.deals()).close_relationship(opportunity_id, cmd, request_id=rid))
