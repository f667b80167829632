"""/v1/opportunities: open, look up (state and stored events), list (visibility, paged), and the
moves (advance, lose, reopen, touch, the expected close date and the forecast category). Each
command carries the caller as its actor and the Idempotency-Key as its request id."""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.audit import note
from api.auth import Reader, RequestId
from api.models import (
    ID_PATTERN,
    LIST_LIMIT_MAX,
    PERSON_PATTERN,
    AdvanceBody,
    CloseDateBody,
    DealDetail,
    DealPage,
    ForecastCategoryBody,
    LoseBody,
    OpenBody,
    ReopenBody,
    StoredEvent,
    TouchBody,
)
from api.problems import PROBLEMS
from api.routing import Route, shaped
from domain.authorization import Action
from domain.commands import (
    AdvanceStage,
    LogTouch,
    MarkLost,
    OpenOpportunity,
    Reopen,
    SetExpectedCloseDate,
    SetForecastCategory,
)
from domain.opportunity import OpportunityState
from domain.stages import STAGE_ORDER

router = APIRouter(prefix="/v1/opportunities", tags=["opportunities"], route_class=Route, responses=PROBLEMS)

DealId = Annotated[
    str, Path(min_length=1, max_length=255, pattern=ID_PATTERN, description="the opportunity's id")
]
STAGE_PATTERN = "^(" + "|".join([*(s.value for s in STAGE_ORDER), "lost"]) + ")$"


@router.post("", status_code=201, response_model=OpportunityState, summary="Open an opportunity (a lead)")
async def open_opportunity(body: OpenBody, caller: Reader, rid: RequestId, request: Request) -> Response:
    """Opens the lead in its pipeline; the owner is the caller unless a manager opens it for a rep
    of their team, a director for anyone, or a service account for the rep it names. The same
    Idempotency-Key again answers as the first time (the deal is opened once)."""
    # Without an id, one derived from the request id: a retry with the same Idempotency-Key
    # names the same deal, and so answers as the first time instead of opening another.
    oid = body.opportunity_id or "opp-" + hashlib.sha256(f"{caller.actor}\n{rid}".encode()).hexdigest()[:10]
    note(request, deal_id=oid)
    owner = caller.may_open_for(body.owner)
    cmd = OpenOpportunity(
        opportunity_id=oid,
        pipeline=body.pipeline,
        owner=owner,
        company=body.company,
        contact_person=body.contact_person,
        source=body.source,
        amount=body.amount,
        actor=caller.actor,
    )
    deals = await caller.deals()
    await deals.open(cmd, request_id=rid)
    caller.owners.remember(oid, owner)
    state = await deals.show(oid)
    return shaped(state, 201, headers={"Location": f"/v1/opportunities/{oid}"})


@router.get("", response_model=DealPage, summary="List opportunities (Temporal visibility)")
async def list_opportunities(
    caller: Reader,
    stage: Annotated[str | None, Query(pattern=STAGE_PATTERN, description="a stage, or lost")] = None,
    owner: Annotated[str | None, Query(max_length=64, pattern=PERSON_PATTERN)] = None,
    pipeline: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)] = 100,
    after: Annotated[
        str | None, Query(max_length=255, description="the last id of the previous page (its next_after)")
    ] = None,
) -> Response:
    """Opportunities by stage, owner and pipeline, in id order, `limit` at a time."""
    caller.may(Action.READ)
    found = await caller.dealflow.queries.list(stage=stage, owner=owner, pipeline=pipeline)
    rest = [d for d in found if after is None or d.opportunity_id > after]
    page = rest[:limit]
    more = len(rest) > limit
    return shaped(DealPage(items=page, next_after=page[-1].opportunity_id if more else None))


@router.get("/{opportunity_id}", response_model=DealDetail, summary="One opportunity and its events")
async def get_opportunity(opportunity_id: DealId, caller: Reader) -> Response:
    """Its state (a workflow query) and its stream as the event store holds it."""
    caller.may(Action.READ)
    state = await caller.dealflow.queries.show(opportunity_id)
    store = await caller.dealflow.connections.store()
    rows = await store.read_stream_rows(opportunity_id)
    events = [
        StoredEvent(
            version=r.version,
            type=r.type,
            occurred_at=r.event.occurred_at,
            actor=getattr(r.event, "actor", None),
            event=r.event.model_dump(mode="json"),
        )
        for r in rows
    ]
    return shaped(DealDetail(state=state, events=events))


@router.post("/{opportunity_id}/advance", response_model=OpportunityState, summary="Move one stage forward")
async def advance(opportunity_id: DealId, body: AdvanceBody, caller: Reader, rid: RequestId) -> Response:
    await caller.may_on(Action.MOVE, opportunity_id)
    cmd = AdvanceStage(to_stage=body.to_stage, facts=body.facts, amount=body.amount, actor=caller.actor)
    return shaped(await (await caller.deals()).advance(opportunity_id, cmd, request_id=rid))


@router.post("/{opportunity_id}/lose", response_model=OpportunityState, summary="Mark it lost")
async def lose(opportunity_id: DealId, body: LoseBody, caller: Reader, rid: RequestId) -> Response:
    await caller.may_on(Action.MOVE, opportunity_id)
    cmd = MarkLost(reason=body.reason, note=body.note, actor=caller.actor)
    return shaped(await (await caller.deals()).mark_lost(opportunity_id, cmd, request_id=rid))


@router.post("/{opportunity_id}/reopen", response_model=OpportunityState, summary="Reopen a lost deal")
async def reopen(
    opportunity_id: DealId, caller: Reader, rid: RequestId, body: ReopenBody | None = None
) -> Response:
    await caller.may_on(Action.MOVE, opportunity_id)
    cmd = Reopen(note=(body or ReopenBody()).note, actor=caller.actor)
    return shaped(await (await caller.deals()).reopen(opportunity_id, cmd, request_id=rid))


@router.post(
    "/{opportunity_id}/touches", response_model=OpportunityState, summary="Log an activity with the customer"
)
async def touch(opportunity_id: DealId, body: TouchBody, caller: Reader, rid: RequestId) -> Response:
    """A call, visit or mail: restarts the stage's idle clock. The author is the caller (a service
    account names the rep it logs for)."""
    await caller.may_on(Action.MOVE, opportunity_id)
    by = caller.named(body.by, "by", service_may_name=True)
    cmd = LogTouch(kind=body.kind, by=by, note=body.note, actor=caller.actor)
    return shaped(await (await caller.deals()).log_touch(opportunity_id, cmd, request_id=rid))


@router.post(
    "/{opportunity_id}/close-date", response_model=OpportunityState, summary="Set the expected close date"
)
async def close_date(opportunity_id: DealId, body: CloseDateBody, caller: Reader, rid: RequestId) -> Response:
    """Set or change an open deal's expected close date without a move (a later date is a push)."""
    await caller.may_on(Action.MOVE, opportunity_id)
    cmd = SetExpectedCloseDate(expected_close_date=body.expected_close_date, actor=caller.actor)
    return shaped(await (await caller.deals()).set_close_date(opportunity_id, cmd, request_id=rid))


@router.post(
    "/{opportunity_id}/forecast-category",
    response_model=OpportunityState,
    summary="Set the forecast category",
)
async def forecast_category(
    opportunity_id: DealId, body: ForecastCategoryBody, caller: Reader, rid: RequestId
) -> Response:
    """Put an open deal in a forecast category whatever its stage's (null: back to its stage's)."""
    await caller.may_on(Action.MOVE, opportunity_id)
    category = None if body.category is None else body.category.value
    cmd = SetForecastCategory(category=category, actor=caller.actor)
    return shaped(await (await caller.deals()).set_forecast_category(opportunity_id, cmd, request_id=rid))
