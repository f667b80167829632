"""`dealflow brief …`: the weekly/monthly sales brief (schedule it, compile it, show it)."""

from datetime import date
from typing import Annotated, Literal

import typer

from cli import render_json
from cli.common import JsonFlag, PipelineOption, console, deferred, open_app, parse_date
from cli.render import print_brief
from cli.render_deals import print_schedule
from domain.sales_brief import SalesBrief

brief = typer.Typer(help="The sales brief: schedule, compile, show.", no_args_is_help=True)

Period = Annotated[Literal["week", "month"], typer.Option(help="a week (from Monday) or a month")]
Start = Annotated[
    date | None,
    typer.Option(
        parser=parse_date,
        metavar="DATE",
        help="first day (a Monday / the 1st); default: the last full period",
    ),
]


def _print(found: SalesBrief, as_json: bool) -> None:
    if as_json:
        render_json.print_json(found)
    else:
        print_brief(found, console)


@brief.command(epilog="Example: dealflow brief schedule --hour 7 --time-zone Asia/Shanghai")
@deferred
async def schedule(
    hour: Annotated[int, typer.Option(help="hour of the day it runs")] = 7,
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA time zone of that hour")] = "UTC",
) -> None:
    """Create (or update) the Temporal Schedule that compiles the brief every Monday."""
    async with open_app() as app:
        print_schedule(await app.schedule_weekly_brief(hour, time_zone), console)


@brief.command("compile", epilog="Example: dealflow brief compile --period month --start 2026-11-01")
@deferred
async def compile_now(
    period: Period = "week", start: Start = None, pipeline: PipelineOption = None, as_json: JsonFlag = False
) -> None:
    """Compile a brief from the event store now, store it and print it."""
    async with open_app() as app:
        _print(await app.reports.compile_brief(period, start, pipeline), as_json)


@brief.command(epilog="Example: dealflow brief show --period week --start 2026-11-16 --json")
@deferred
async def show(
    period: Period = "week", start: Start = None, pipeline: PipelineOption = None, as_json: JsonFlag = False
) -> None:
    """Print a stored brief (default: the latest)."""
    async with open_app() as app:
        _print(await app.reports.stored_brief(period, start, pipeline), as_json)
