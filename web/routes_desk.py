"""The approvals inbox (decide in one click, what I decided before) and the pipeline board."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from app.errors import BadInput, NotFound
from domain.approvals import ApprovalMode
from domain.authorization import Action
from domain.commands import DecideDiscount
from reports.board import board
from reports.decided_by import votes_by
from reports.pending_approvals import PendingApproval
from web.render import page
from web.routing import WebRoute
from web.session import Viewer, audit_note, checked_form, viewer

router = APIRouter(route_class=WebRoute)
ID = Annotated[str, Query(max_length=200)]


async def _progress(who: Viewer, item: PendingApproval) -> dict[str, object]:
    """The request and its 会签 progress: who has voted at this level, who still may."""
    pipeline = who.dealflow.catalog.pipelines.get(item.pipeline)
    mode = "any"
    if pipeline and pipeline.approvals:
        for level in pipeline.approvals.levels:
            if level.name == item.level:
                mode = ApprovalMode(level.mode).value
    votes: dict[str, bool] = {}
    try:
        state = await who.dealflow.queries.show(item.opportunity_id)
        if state.discount_request and state.discount_request.request_id == item.request_id:
            votes = dict(state.discount_request.votes)
        company = state.company
    except NotFound:
        company = "?"
    return {"item": item, "mode": mode, "votes": votes, "company": company}


@router.get("/inbox")
async def inbox(request: Request) -> Response:
    who = await viewer(request)
    decides = who.may(Action.DECIDE_DISCOUNT)
    pending = await who.dealflow.queries.pending_approvals(approver=who.name) if decides else []
    rows = await asyncio.gather(*(_progress(who, p) for p in pending))
    refused = await who.dealflow.queries.refused_decisions(approver=who.name) if decides else []
    async with who.dealflow.connections.read_models() as conn:
        before = await votes_by(conn, who.name) if decides else []
    return page(
        request,
        "inbox.html",
        who,
        live="/web/live",
        decides=decides,
        rows=rows,
        refused=refused,
        before=before,
        now=datetime.now(UTC),
    )


@router.post("/deals/{opportunity_id}/discount/decide")
async def decide(request: Request, opportunity_id: str) -> Response:
    who = await viewer(request)
    audit_note(request, deal_id=opportunity_id, command="web:decide-discount")
    form = await checked_form(request)
    who.check(Action.DECIDE_DISCOUNT)  # a rep: 403, whatever the form says
    verdict = form.get("verdict")
    if verdict not in ("approve", "reject"):
        raise BadInput("choose approve or reject")
    cmd = DecideDiscount(
        approver=who.name,
        approve=verdict == "approve",
        comment=str(form.get("comment", ""))[:2000],
        actor=who.principal.actor,
    )
    deals = await who.dealflow.deals()
    await deals.decide_discount(opportunity_id, cmd, request_id=_request_id(form.get("request_id")))
    back = str(form.get("back", ""))
    target = back if back in ("inbox", "deal") else "inbox"
    done = "Approved" if cmd.approve else "Rejected"
    url = "/web/inbox" if target == "inbox" else f"/web/deals/{opportunity_id}"
    return RedirectResponse(f"{url}?notice={done}+{opportunity_id}", status_code=303)


def _request_id(value: object) -> str | None:
    """The form's own id: a form sent twice (a double click, a resend) is applied once."""
    return value if isinstance(value, str) and 8 <= len(value) <= 64 and value.isascii() else None


@router.get("/board")
async def pipeline_board(
    request: Request,
    pipeline: Annotated[str | None, Query(max_length=64)] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    who = await viewer(request)
    who.check(Action.READ)
    catalog = who.dealflow.catalog
    pipeline = pipeline or None
    owner = owner or None
    now = datetime.now(UTC)
    async with who.dealflow.connections.read_models() as conn:
        columns = await board(conn, catalog, now, pipeline=pipeline, owner=owner)
    owners = sorted(catalog.people.managers)
    return page(
        request,
        "board.html",
        who,
        live="/web/live",
        columns=columns,
        pipelines=sorted(catalog.pipelines),
        owners=owners,
        pipeline=pipeline,
        owner=owner,
        now=now,
    )
