"""The read side and operations: the caller's approvals inbox, the reports (the full sales report,
stalled deals, sales briefs, the pipeline waterfall, the forecast by close month and category, the
stage log streamed as CSV or XES), the pipelines and the versions
deals used, and reconcile (administrators only)."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse

from api.auth import Caller, Reader
from api.models import ID_PATTERN, ReconcileBody, When
from api.problems import PROBLEMS
from api.routing import Route, shaped
from app import forecast_shapes
from app.errors import NotFound
from app.json_shapes import reconciled, sales_report, stalled
from app.queries import PipelineVersionRow
from app.reports import report_period
from domain.authorization import Action
from domain.pipeline import Pipeline
from domain.sales_brief import SalesBrief
from reports.pending_approvals import PendingApproval, RefusedDecision

router = APIRouter(prefix="/v1", route_class=Route, responses=PROBLEMS)

PipelineParam = Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN, description="one pipeline")]
Period = Literal["week", "month"]
_LOG_TYPES = {"csv": "text/csv; charset=utf-8", "xes": "application/xml; charset=utf-8"}


@router.get(
    "/approvals/inbox",
    tags=["approvals"],
    response_model=list[PendingApproval],
    summary="The discount requests the caller may decide now",
)
async def inbox(caller: Reader) -> Response:
    caller.may(Action.READ)
    return shaped(await caller.dealflow.queries.pending_approvals(approver=caller.principal.name))


@router.get(
    "/approvals/refused",
    tags=["approvals"],
    response_model=list[RefusedDecision],
    summary="The caller's decisions sent as signals that the rules refused, newest first",
)
async def refused(caller: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> Response:
    """A decision sent with `Prefer: respond-async` has no caller waiting for the answer: a refused
    one (no request open any more, above the approver's limit, a second vote…) is listed here."""
    caller.may(Action.READ)
    return shaped(await caller.dealflow.queries.refused_decisions(caller.principal.name, limit=limit))


@router.get("/reports/sales", tags=["reports"], response_model=dict[str, Any], summary="The sales report")
async def report(
    caller: Reader,
    start: Annotated[
        When | None, Query(alias="from", description="period start (default: a year before to)")
    ] = None,
    end: Annotated[When | None, Query(alias="to", description="period end, exclusive (default: now)")] = None,
    as_of: Annotated[When | None, Query(description="count only what had happened by then")] = None,
    pipeline: PipelineParam = None,
) -> Response:
    """Cycle times per rep against the team, time per stage, funnel, win rate, lost reasons,
    weighted forecast and approvals; the same document as `dealflow report --json`."""
    caller.may(Action.READ_REPORTS)
    _known(caller, pipeline)
    found = await caller.dealflow.reports.sales_report(report_period(start, end, as_of), pipeline)
    return shaped(sales_report(found))


@router.get(
    "/reports/waterfall", tags=["reports"], response_model=dict[str, Any], summary="The pipeline waterfall"
)
async def waterfall_report(
    caller: Reader,
    start: Annotated[
        When | None, Query(alias="from", description="the start (default: a year before to)")
    ] = None,
    end: Annotated[When | None, Query(alias="to", description="the end (default: now)")] = None,
    pipeline: PipelineParam = None,
) -> Response:
    """The open pipeline at `from`, every flow after it up to `to` (new, reopened, amounts revised,
    won, lost: start + flows = end, exactly) and the moves within it (advanced, close dates pulled
    in and pushed out), for the team, per pipeline and per rep; `dealflow analytics waterfall --json`."""
    caller.may(Action.READ_REPORTS)
    _known(caller, pipeline)
    found = await caller.dealflow.analytics.waterfall(report_period(start, end, None), pipeline)
    return shaped(forecast_shapes.waterfall(found, caller.dealflow.analytics.currency(pipeline)))


@router.get(
    "/reports/forecast",
    tags=["reports"],
    response_model=dict[str, Any],
    summary="The forecast by expected close month and category",
)
async def forecast_report(
    caller: Reader,
    as_of: Annotated[When | None, Query(description="the deals open then (default: now)")] = None,
    pipeline: PipelineParam = None,
) -> Response:
    """The deals open at `as_of` by expected close month and forecast category (commit, best_case,
    pipeline: the deal's own, else its stage's): count, amount, weighted amount."""
    caller.may(Action.READ_REPORTS)
    _known(caller, pipeline)
    found = await caller.dealflow.analytics.forecast(report_period(None, as_of, as_of), pipeline)
    return shaped(forecast_shapes.forecast(found, caller.dealflow.analytics.currency(pipeline)))


@router.get("/reports/stalled", tags=["reports"], response_model=dict[str, Any], summary="Stalled deals")
async def stalled_deals(
    caller: Reader, as_of: Annotated[When | None, Query(description="default: now")] = None
) -> Response:
    """Deals idle past their stage's SLA, and escalations to managers per rep and stage."""
    caller.may(Action.READ_REPORTS)
    return shaped(stalled(await caller.dealflow.reports.stalled(as_of)))


@router.get(
    "/reports/briefs/{period}", tags=["reports"], response_model=SalesBrief, summary="A compiled sales brief"
)
async def brief(
    period: Period,
    caller: Reader,
    start: Annotated[date | None, Query(description="the period's first day (default: the latest)")] = None,
    pipeline: PipelineParam = None,
) -> Response:
    """A brief as it was compiled (by the weekly schedule, or `POST …/compile`)."""
    caller.may(Action.READ_REPORTS)
    return shaped(await caller.dealflow.reports.stored_brief(period, _day(start), pipeline))


@router.post(
    "/reports/briefs/{period}/compile",
    tags=["reports"],
    response_model=SalesBrief,
    summary="Compile (and keep) a sales brief",
)
async def compile_brief(
    period: Period,
    caller: Reader,
    start: Annotated[
        date | None, Query(description="the period's first day (default: the last full)")
    ] = None,
    pipeline: PipelineParam = None,
) -> Response:
    caller.may(Action.READ_REPORTS)
    return shaped(await caller.dealflow.reports.compile_brief(period, _day(start), pipeline))


def _known(caller: Caller, pipeline: str | None) -> None:
    if pipeline is not None and pipeline not in caller.dealflow.catalog.pipelines:
        known = ", ".join(sorted(caller.dealflow.catalog.pipelines))
        raise NotFound("unknown-pipeline", f"no pipeline {pipeline!r} is configured (known: {known})")


def _day(day: date | None) -> date | None:
    if day is not None and not 1900 <= day.year < 9000:
        raise NotFound("known-brief", f"no brief for {day}")
    return day


@router.get(
    "/reports/stage-log",
    tags=["reports"],
    summary="The stage log for process mining, streamed (CSV or XES)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/xml": {}}, "description": "the event log"}},
)
async def stage_log(
    caller: Reader,
    format: Annotated[Literal["csv", "xes"], Query(description="csv or xes")] = "csv",
    pipeline: PipelineParam = None,
    start: Annotated[When | None, Query(alias="from", description="opportunities opened from then")] = None,
    end: Annotated[When | None, Query(alias="to", description="… and before then")] = None,
) -> Response:
    """Every stage entry and loss (case = opportunity, resource = owner), case by case."""
    caller.may(Action.READ_REPORTS)
    chunks = caller.dealflow.reports.stage_log_chunks(format, pipeline=pipeline, start=start, end=end)
    first = await anext(aiter(chunks))  # a server fault is a 503 here, before the response starts

    async def body() -> AsyncIterator[str]:
        yield first
        async for chunk in chunks:
            yield chunk

    headers = {"Content-Disposition": f'attachment; filename="stages.{format}"'}
    return StreamingResponse(body(), media_type=_LOG_TYPES[format], headers=headers)


@router.get("/pipelines", tags=["pipelines"], response_model=dict[str, Pipeline], summary="The pipelines")
async def pipelines(caller: Reader) -> Response:
    """Stages, exit criteria, win probabilities, SLAs, approval and contract policies."""
    caller.may(Action.READ)
    return shaped(caller.dealflow.queries.pipelines())


@router.get(
    "/pipelines/versions",
    tags=["pipelines"],
    response_model=list[PipelineVersionRow],
    summary="Every pipeline version a deal used",
)
async def pipeline_versions(caller: Reader, pipeline: PipelineParam = None) -> Response:
    caller.may(Action.READ)
    return shaped(await caller.dealflow.queries.pipeline_versions(pipeline))


@router.get("/pipelines/{pipeline_id}", tags=["pipelines"], response_model=Pipeline, summary="One pipeline")
async def pipeline(
    pipeline_id: Annotated[str, Path(max_length=64, pattern=ID_PATTERN)], caller: Reader
) -> Response:
    caller.may(Action.READ)
    _known(caller, pipeline_id)
    return shaped(caller.dealflow.queries.pipelines()[pipeline_id])


@router.post(
    "/reconcile",
    tags=["operations"],
    response_model=list[dict[str, Any]],
    summary="Check the event store against Temporal's histories (administrators)",
)
async def reconcile(body: ReconcileBody, caller: Reader) -> Response:
    """The opportunities named, and those opened from `start` (to `end`), at most `limit`."""
    caller.may(Action.ADMINISTER)
    checks = await caller.dealflow.reconciliation.run(
        body.opportunity_ids, start=body.start, end=body.end, limit=body.limit
    )
    return shaped(reconciled(checks))
