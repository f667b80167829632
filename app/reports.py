"""The reports a front end asks for, each read from the read models once they have caught up
(`Connections.read_models`): the full sales report, stalled deals, the sales brief, the stage log."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.connections import Connections
from app.errors import BadInput, NotFound
from domain.sales_brief import SalesBrief, period_bounds
from reports.approvals import ApprovalReport, approval_report
from reports.cycle_times import CycleTimeReport, cycle_time_report
from reports.event_log import FORMATS, log_chunks, stage_moves, write_log
from reports.funnel import PipelineMetrics, pipeline_metrics
from reports.outcomes import Outcomes, outcomes
from reports.period import Period
from reports.period_summary import PeriodSummary, period_summary
from reports.sales_brief import compile_brief
from reports.stalled import Escalations, StalledDeal, escalations, stalled_deals
from store.briefs import save_brief, stored_briefs

DEFAULT_SPAN = timedelta(days=365)  # a report without --from looks back a year


@dataclass(frozen=True)
class SalesReport:
    """Cycle times per rep against the team, the funnel and forecast, and the approvals."""

    cycle_times: CycleTimeReport
    pipeline: PipelineMetrics
    approvals: ApprovalReport
    currency: str  # of the amounts (the pipeline's; "mixed" when pipelines of several are summed)


@dataclass(frozen=True)
class StalledReport:
    as_of: datetime
    stalled: list[StalledDeal]
    escalations: list[Escalations]  # to managers, over the year before as_of


@dataclass(frozen=True)
class ExportedLog:
    path: Path
    format: str
    cases: int
    events: int


def report_period(start: datetime | None, end: datetime | None, as_of: datetime | None) -> Period:
    """The window a report covers: [start, end) as known at as_of; by default the year to now."""
    end = end or datetime.now(UTC)
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise BadInput(f"the period's start ({start:%Y-%m-%d}) must be before its end ({end:%Y-%m-%d})")
    return Period(start=start, end=end, as_of=as_of or end)


class Reports:
    def __init__(self, connections: Connections) -> None:
        self._c = connections

    async def sales_report(self, period: Period, pipeline: str | None = None) -> SalesReport:
        catalog = self._c.catalog
        async with self._c.read_models() as conn:
            return SalesReport(
                cycle_times=await cycle_time_report(conn, period, pipeline),
                pipeline=await pipeline_metrics(conn, catalog, period, pipeline),
                approvals=await approval_report(conn, period, pipeline),
                currency=catalog.currency(pipeline),
            )

    async def outcomes(self, period: Period, pipeline: str | None = None) -> Outcomes:
        """Where the opportunities opened in the period stand at its as-of date."""
        async with self._c.read_models() as conn:
            return await outcomes(conn, period, pipeline)

    async def engine_activity(self, period: Period) -> tuple[PeriodSummary, list[Escalations]]:
        """What the engine did beside the moves, over every pipeline: reminders, escalations (per
        rep and stage), failed clause checks, after-sales."""
        async with self._c.read_models() as conn:
            return await period_summary(conn, period), await escalations(conn, period)

    async def stalled(self, as_of: datetime | None = None) -> StalledReport:
        as_of = as_of or datetime.now(UTC)
        catalog = self._c.catalog
        async with self._c.read_models() as conn:
            found = await stalled_deals(conn, catalog, as_of)
            counts = await escalations(conn, Period(start=as_of - DEFAULT_SPAN, end=as_of, as_of=as_of))
        return StalledReport(as_of=as_of, stalled=found, escalations=counts)

    async def compile_brief(
        self, period: str = "week", start: date | None = None, pipeline: str | None = None
    ) -> SalesBrief:
        """Compile the brief of a period (by default the last full one), keep it and return it."""
        try:
            first, end = period_bounds(period, start, datetime.now(UTC))
        except ValueError as err:
            raise BadInput(str(err)) from None
        async with self._c.read_models() as conn:
            brief = await compile_brief(conn, period, first, end, pipeline)
            await save_brief(conn, brief)
        return brief

    async def stored_brief(
        self, period: str = "week", start: date | None = None, pipeline: str | None = None
    ) -> SalesBrief:
        """A brief as it was compiled (the latest one, or the one starting on `start`)."""
        async with (await self._c.store()).pool.connection() as conn:
            found = await stored_briefs(conn, period, pipeline, start)
        if not found:
            which = f"the {period} of {start}" if start else f"any {period}"
            raise NotFound(
                "known-brief", f"no brief stored for {which} yet: compile one, or wait for the schedule"
            )
        return found[0]

    async def export_stage_log(
        self,
        path: Path,
        fmt: str | None = None,
        *,
        pipeline: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        on_progress: Callable[[int], None] = lambda n: None,
    ) -> ExportedLog:
        """Write the stage log as a process-mining event log (CSV or XES) of the opportunities
        opened in [start, end)."""
        fmt = fmt or path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise BadInput(f"cannot tell the format of {path}: name it .csv or .xes, or pass --format")
        if not path.parent.is_dir():
            raise BadInput(f"no directory {path.parent} to write {path.name} in")
        if start and end and start >= end:
            raise BadInput("the start must be before the end")
        async with self._c.read_models() as conn:
            cases, events = await write_log(
                stage_moves(conn, pipeline, start, end), path, fmt, on_progress=on_progress
            )
        return ExportedLog(path=path, format=fmt, cases=cases, events=events)

    def stage_log_chunks(
        self,
        fmt: str,
        *,
        pipeline: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> AsyncIterator[str]:
        """The stage log of the opportunities opened in [start, end) as pieces of CSV or XES text,
        to stream; the arguments are checked at once, the read models read as it is consumed."""
        if fmt not in FORMATS:
            raise BadInput(f"the format is one of {', '.join(FORMATS)}, not {fmt!r}")
        if start and end and start >= end:
            raise BadInput("the start must be before the end")
        return self._log_chunks(fmt, pipeline, start, end)

    async def _log_chunks(
        self, fmt: str, pipeline: str | None, start: datetime | None, end: datetime | None
    ) -> AsyncIterator[str]:
        async with self._c.read_models() as conn:
            async for chunk in log_chunks(stage_moves(conn, pipeline, start, end), fmt):
                yield chunk
