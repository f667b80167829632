"""The deal page (its timeline from the stored events, the actions the viewer may take now) and
the forms it posts. Every POST authorises again: a form is no proof of anything."""

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from app.errors import BadInput, NotFound
from domain.after_sales import relationship_id
from domain.authorization import Action
from domain.commands import AdvanceStage, DecideContract, LogTouch, MarkLost, Reopen, RequestDiscount
from domain.stages import LossReason, Stage
from web.actions import deal_actions, parse_amount
from web.render import page
from web.routes_desk import _request_id
from web.routing import WebRoute
from web.session import Viewer, audit_note, checked_form, viewer
from web.timeline import timeline

router = APIRouter(route_class=WebRoute)
TEXT = 2000


@router.get("/deals/{opportunity_id}")
async def deal_page(request: Request, opportunity_id: str) -> Response:
    who = await viewer(request)
    who.check(Action.READ)
    dealflow = who.dealflow
    state = await dealflow.queries.show(opportunity_id)
    pipeline = dealflow.catalog.pipelines.get(state.pipeline)
    store = await dealflow.connections.store()
    events: list[Any] = await store.read_stream(opportunity_id)
    if state.stage is Stage.AFTER_SALES:
        events += await store.read_stream(relationship_id(opportunity_id))
    approvers: tuple[str, ...] = ()
    if state.discount_request is not None:
        pending = await dealflow.queries.pending_approvals()
        approvers = next((p.approvers for p in pending if p.opportunity_id == opportunity_id), ())
    return page(
        request,
        "deal.html",
        who,
        live=f"/web/live?deal={opportunity_id}",
        deal=state,
        pipeline=pipeline,
        lines=timeline(events),
        actions=deal_actions(who, state, pipeline, approvers),
        approvers=approvers,
    )


async def _owner(who: Viewer, opportunity_id: str) -> str:
    try:
        return (await who.dealflow.queries.show(opportunity_id)).owner
    except NotFound:
        raise NotFound("known-opportunity", f"no opportunity {opportunity_id!r}") from None


def _text(form: FormData, name: str, limit: int = TEXT) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _done(opportunity_id: str, notice: str) -> Response:
    return RedirectResponse(f"/web/deals/{opportunity_id}?notice={notice}", status_code=303)


@router.post("/deals/{opportunity_id}/{action}")
async def act(request: Request, opportunity_id: str, action: str) -> Response:
    who = await viewer(request)
    audit_note(request, deal_id=opportunity_id, command=f"web:{action}")
    form = await checked_form(request)
    if action == "contract":
        who.check(Action.DECIDE_CONTRACT)
    else:
        who.check(Action.MOVE, await _owner(who, opportunity_id))
    deals = await who.dealflow.deals()
    rid = _request_id(form.get("request_id"))
    actor = who.principal.actor
    if action == "advance":
        if _text(form, "to_stage") not in {s.value for s in Stage}:
            raise BadInput("choose the stage to move to")
        to = Stage(_text(form, "to_stage"))
        facts = {k.removeprefix("fact_"): _text(form, k) for k in form if k.startswith("fact_")}
        amount = parse_amount(_text(form, "amount", 40))
        cmd: Any = AdvanceStage(to_stage=to, facts=facts, amount=amount, actor=actor)
        await deals.advance(opportunity_id, cmd, request_id=rid)
        return _done(opportunity_id, f"Moved to {to.value}")
    if action == "touch":
        cmd = LogTouch(
            kind=_text(form, "kind", 40) or "call", by=who.name, note=_text(form, "note"), actor=actor
        )
        await deals.log_touch(opportunity_id, cmd, request_id=rid)
        return _done(opportunity_id, "Touch logged")
    if action == "lose":
        reason = _text(form, "reason", 40)
        if reason not in {r.value for r in LossReason}:
            raise BadInput("choose a reason the deal was lost")
        cmd = MarkLost(reason=LossReason(reason), note=_text(form, "note"), actor=actor)
        await deals.mark_lost(opportunity_id, cmd, request_id=rid)
        return _done(opportunity_id, "Marked lost")
    if action == "reopen":
        await deals.reopen(opportunity_id, Reopen(note=_text(form, "note"), actor=actor), request_id=rid)
        return _done(opportunity_id, "Reopened")
    if action == "discount":
        discount = parse_amount(_text(form, "discount", 20)) or Decimal(0)
        cmd = RequestDiscount(discount=discount, comment=_text(form, "comment"), actor=actor)
        await deals.request_discount(opportunity_id, cmd, request_id=rid)
        return _done(opportunity_id, "Discount requested")
    if action == "contract":
        approve = _text(form, "verdict") == "approve"
        cmd = DecideContract(by=who.name, approve=approve, comment=_text(form, "comment"), actor=actor)
        await deals.decide_contract(opportunity_id, cmd, request_id=rid)
        return _done(opportunity_id, "Contract signed off" if approve else "Contract rejected")
    raise NotFound("known-action", f"no action {action!r} on a deal")
