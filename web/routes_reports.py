"""The dashboard (any of it as it stood on a past day) and the after-sales desk."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from app.errors import BadInput
from domain.after_sales import OpenRenewal, RecordFeedback
from domain.authorization import Action
from reports.cycle_times import laggards
from reports.revisit_desk import renewals, revisits_by_rep, waiting_revisits
from web import charts
from web.actions import parse_amount
from web.dashboard_data import dashboard_data
from web.render import days, money, page, stage_label
from web.routes_desk import _request_id
from web.routing import WebRoute
from web.session import Viewer, checked_form, viewer

router = APIRouter(route_class=WebRoute)
SPAN = timedelta(days=365)


def _as_of(day: date | None) -> tuple[date, datetime]:
    """The day asked for and the moment it ended (now, for today or no day)."""
    today = datetime.now(UTC).date()
    if day is None or day >= today:
        return today, datetime.now(UTC)
    if day < date(2000, 1, 1):
        raise BadInput("pick a day from 2000 on")
    return day, datetime.combine(day + timedelta(days=1), time(), UTC)


@router.get("/dashboard")
async def dashboard(
    request: Request,
    as_of: Annotated[date | None, Query()] = None,
    pipeline: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    who = await viewer(request)
    who.check(Action.READ_REPORTS)
    dealflow = who.dealflow
    pipeline = pipeline or None
    if pipeline is not None and pipeline not in dealflow.catalog.pipelines:
        raise BadInput(f"no pipeline {pipeline!r}")
    day, moment = _as_of(as_of)
    report = await dashboard_data(dealflow, moment, pipeline, today=day == datetime.now(UTC).date())
    money_by_stage, trend, stalled = report.money_by_stage, report.trend, report.stalled
    cycle = report.cycle_times.cycles.get("sales_cycle")
    slow = {lag.rep: lag for lag in laggards(report.cycle_times)}
    rep_bars = []
    if cycle is not None and cycle.team is not None:
        rep_bars = [
            charts.Bar(rep, s.mean, days(s.mean), cycle.team.mean, rep in slow)
            for rep, s in cycle.by_rep.items()
        ]
    stage_bars = [
        charts.Bar(stage_label(stage), b.team.mean, days(b.team.mean))
        for stage, b in report.cycle_times.stages.items()
        if b.team is not None
    ]
    funnel = report.pipeline.funnel
    funnel_bars = [
        charts.Bar(
            stage_label(f.stage),
            f.entered,
            f"{f.entered} · {money(money_by_stage.get(f.stage, (0, 0))[1])} open",
        )
        for f in funnel
    ]
    labels = [m.month.strftime("%b") for m in trend]
    trend_chart = charts.columns(
        "Opened, won and lost per month",
        labels,
        [
            charts.Series("opened", "s-opened", [m.opened for m in trend]),
            charts.Series("won", "s-won", [m.won for m in trend]),
            charts.Series("lost", "s-lost", [m.lost for m in trend]),
        ],
    )
    return page(
        request,
        "dashboard.html",
        who,
        live="/web/live",
        day=day,
        today=datetime.now(UTC).date(),
        as_of=moment,
        pipeline=pipeline,
        pipelines=sorted(dealflow.catalog.pipelines),
        report=report,
        money_by_stage=money_by_stage,
        laggards=list(slow.values()),
        trend=trend,
        stalled=stalled[:15],
        stalled_total=len(stalled),
        funnel_chart=charts.bars("Funnel: deals that entered each stage", funnel_bars),
        rep_chart=charts.bars("Sales cycle per rep (mean days)", rep_bars, marker_label="team mean")
        if rep_bars
        else None,
        stage_chart=charts.bars("Time per stage (team mean days)", stage_bars) if stage_bars else None,
        trend_chart=trend_chart,
    )


def _sees_all(who: Viewer) -> bool:
    """A rep sees their own customers; managers, directors and the rest anyone's."""
    return bool(who.roles - {"rep"})


@router.get("/after-sales")
async def after_sales(
    request: Request,
    as_of: Annotated[date | None, Query()] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    who = await viewer(request)
    who.check(Action.READ)
    day, moment = _as_of(as_of)
    owner = (owner or None) if _sees_all(who) else who.name
    async with who.dealflow.connections.read_models() as conn:
        per_rep = await revisits_by_rep(conn, moment - SPAN, moment, owner)
        waiting = await waiting_revisits(conn, owner)
        renewed = await renewals(conn, owner)
    return page(
        request,
        "after_sales.html",
        who,
        live="/web/live",
        day=day,
        today=datetime.now(UTC).date(),
        owner=owner,
        sees_all=_sees_all(who),
        owners=sorted(who.dealflow.catalog.people.managers),
        per_rep=per_rep,
        waiting=waiting,
        renewed=renewed,
        may_move={w.deal_id: who.may(Action.MOVE, w.owner) for w in waiting},
    )


@router.post("/after-sales/{deal_id}/{action}")
async def after_sales_act(request: Request, deal_id: str, action: str) -> Response:
    who = await viewer(request)
    form = await checked_form(request)
    deals = await who.dealflow.deals()
    relationship = await deals.relationship(deal_id)
    who.check(Action.MOVE, relationship.owner)
    rid = _request_id(form.get("request_id"))
    actor = who.principal.actor
    comment = str(form.get("comment", ""))[:2000]
    if action == "feedback":
        score = str(form.get("score", ""))
        if score not in {"1", "2", "3", "4", "5"}:
            raise BadInput("give a score from 1 to 5")
        number = str(form.get("revisit", ""))
        cmd = RecordFeedback(
            score=int(score),
            comment=comment,
            by=who.name,
            revisit=int(number) if number.isdigit() else None,
            actor=actor,
        )
        await deals.record_feedback(deal_id, cmd, request_id=rid)
        notice = "Feedback recorded"
    elif action == "renew":
        amount = parse_amount(str(form.get("amount", "")))
        if amount is None:
            raise BadInput("give the renewal's amount")
        await deals.open_renewal(
            deal_id, OpenRenewal(amount=amount, by=who.name, note=comment, actor=actor), request_id=rid
        )
        notice = "Renewal opened"
    else:
        raise BadInput(f"no action {action!r} in after-sales")
    return RedirectResponse(f"/web/after-sales?notice={notice}+for+{deal_id}", status_code=303)
