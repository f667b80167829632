"""`dealflow report | stalled | export`: the sales report (and its chart), stalled deals, the
stage log for process mining."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from app.reports import report_period
from cli import render_json
from cli.common import (
    JsonFlag,
    OpenedFrom,
    OpenedTo,
    PipelineOption,
    console,
    deferred,
    errors,
    open_app,
    parse_datetime,
)
from cli.render import print_sales_report
from cli.render_deals import print_chart_written, print_exported, print_progress, print_stalled
from reports.event_log import FORMATS

commands = typer.Typer()
PANEL = "Reports"

From = Annotated[
    datetime | None,
    typer.Option(
        "--from", parser=parse_datetime, metavar="DATE", help="period start (default: a year before --to)"
    ),
]
To = Annotated[
    datetime | None,
    typer.Option("--to", parser=parse_datetime, metavar="DATE", help="period end, exclusive (default: now)"),
]
AsOf = Annotated[
    datetime | None,
    typer.Option(
        "--as-of", parser=parse_datetime, metavar="DATE", help="count only what had happened by then"
    ),
]


def _png(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() != ".png" or not path.parent.is_dir():
        raise typer.BadParameter(f"needs a .png file in an existing directory, got {path}")
    return path


@deferred
async def _report(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    chart: Annotated[
        Path | None,
        typer.Option(parser=_png, metavar="FILE.png", help="also draw the funnel and time per stage"),
    ] = None,
) -> None:
    """The sales report: cycle times per rep against the team, time per stage, funnel, win rate,
    lost reasons, weighted forecast, and approvals."""
    period = report_period(start, end, as_of)
    async with open_app() as app:
        report = await app.reports.sales_report(period, pipeline)
    if as_json:
        render_json.print_json(render_json.sales_report(report))
    else:
        print_sales_report(report, console)
    if chart:
        from cli.chart import render_chart  # matplotlib loads only when asked for

        written = render_chart(report.cycle_times, report.pipeline, chart)
        print_chart_written(written, errors)


_EXAMPLE = "Example: dealflow {} --pipeline software --from 2026-01-01 --to 2026-07-01 --chart report.png"
commands.command("report", rich_help_panel=PANEL, epilog=_EXAMPLE.format("report"))(_report)
commands.command("metrics", rich_help_panel=PANEL, epilog=_EXAMPLE.format("metrics"), help="Same as report.")(
    _report
)


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow stalled --as-of 2026-05-01 --json")
@deferred
async def stalled(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", parser=parse_datetime, metavar="DATE", help="default: now")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Deals idle past their stage's SLA, and escalations to managers per rep and stage."""
    async with open_app() as app:
        report = await app.reports.stalled(as_of)
    if as_json:
        render_json.print_json(render_json.stalled(report))
    else:
        print_stalled(report, console)


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow export stages.xes --pipeline software --from 2026-01-01 --to 2026-07-01",
)
@deferred
async def export(
    out: Annotated[Path, typer.Argument(metavar="FILE", help="the file to write: FILE.csv or FILE.xes")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="|".join(FORMATS), help="default: from the file's suffix"),
    ] = None,
    pipeline: PipelineOption = None,
    start: OpenedFrom = None,
    end: OpenedTo = None,
) -> None:
    """The stage log as an event log for process mining (pm4py, ProM, Disco): CSV or XES."""
    async with open_app() as app:
        written = await app.reports.export_stage_log(
            out,
            fmt,
            pipeline=pipeline,
            start=start,
            end=end,
            on_progress=lambda n: print_progress(n, None, "events", errors),
        )
    print_exported(written, errors)  # the file is the result: stdout stays free
