"""`dealflow analytics rep | open-age | velocity | calibration | backtest | trend | waterfall |
forecast`: the analytics of the event log, for a period as of any date, per pipeline; tables,
`--json` or `--csv`, and a PNG with `--chart` (cli/analytics_charts.py)."""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app import analytics_shapes as shapes
from app import forecast_shapes
from app.reports import report_period
from cli import render_json
from cli.common import JsonFlag, PipelineOption, console, deferred, errors, open_app
from cli.render_analytics import (
    print_backtest,
    print_calibration,
    print_csv,
    print_open_age,
    print_reps,
    print_trend,
    print_velocity,
)
from cli.render_deals import print_chart_written
from cli.render_forecast import print_forecast, print_waterfall
from cli.reports import AsOf, From, To, _png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

analytics = typer.Typer(
    help="Analytics: per rep against the team, the age of the open stage, velocity, calibration and"
    " the forecast's backtest, the monthly trend, the pipeline waterfall, the forecast by close month and"
    " category. Each for a period (--from, --to) as of any date (--as-of).",
    no_args_is_help=True,
)
CsvFlag = Annotated[bool, typer.Option("--csv", help="CSV on stdout (a header, then a row per line)")]
ChartOption = Annotated[
    Path | None, typer.Option(parser=_png, metavar="FILE.png", help="also draw the report as a PNG")
]
_EXAMPLE = (
    "Example: dealflow analytics {} --pipeline software --from 2026-01-01 --to 2026-07-01 --as-of 2026-07-01"
)


@analytics.command("rep", epilog=_EXAMPLE.format("rep"))
@deferred
async def rep(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Win rate, funnel conversion and lost reasons per rep, beside the team's (▼: below it)."""
    async with open_app() as app:
        report = await app.analytics.reps(report_period(start, end, as_of), pipeline)
    _show(
        as_json,
        as_csv,
        lambda: shapes.reps(report),
        lambda: shapes.reps_csv(report),
        lambda: print_reps(report, console),
    )


@analytics.command("open-age", epilog=_EXAMPLE.format("open-age") + " --limit 20")
@deferred
async def open_age(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help="list this many deals, longest in their stage first (default: 10; all in JSON, CSV)"
        ),
    ] = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """Every deal open at the as-of date: its time in the current stage and since it was opened;
    per stage the mean, median and p90 of the open ones beside the visits that ended in the period."""
    shown = limit if limit is not None or as_json or as_csv else 10
    async with open_app() as app:
        report = await app.analytics.open_age(report_period(start, end, as_of), pipeline, shown)
        currency = app.analytics.currency(pipeline)
    _show(
        as_json,
        as_csv,
        lambda: shapes.open_age(report, currency),
        lambda: shapes.open_age_csv(report),
        lambda: print_open_age(report, console, currency),
    )


@analytics.command("velocity", epilog=_EXAMPLE.format("velocity"))
@deferred
async def velocity(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    chart: ChartOption = None,
) -> None:
    """Velocity per rep and for the team (open opportunities x win rate x average deal size /
    cycle length: amount per day), with its four factors."""
    async with open_app() as app:
        report = await app.analytics.velocity(report_period(start, end, as_of), pipeline)
        currency = app.analytics.currency(pipeline)
    _show(
        as_json,
        as_csv,
        lambda: shapes.velocity_report(report, currency),
        lambda: shapes.velocity_csv(report),
        lambda: print_velocity(report, console, currency),
        chart,
        lambda charts: charts.draw_velocity(report, currency),
    )


@analytics.command("calibration", epilog=_EXAMPLE.format("calibration"))
@deferred
async def calibration(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    chart: ChartOption = None,
) -> None:
    """How often the deals that reached each stage were won, beside the pipeline's configured
    win probability; and the backtest of the forecast, month by month (CSV: the stages)."""
    async with open_app() as app:
        report = await app.analytics.calibration(report_period(start, end, as_of), pipeline)
    _show(
        as_json,
        as_csv,
        lambda: shapes.calibration(report),
        lambda: shapes.calibration_csv(report),
        lambda: print_calibration(report, console),
        chart,
        lambda charts: charts.draw_calibration(report),
    )


@analytics.command("backtest", epilog=_EXAMPLE.format("backtest"))
@deferred
async def backtest(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    chart: ChartOption = None,
) -> None:
    """The forecast made at each month's start against the amount won in that month: the error per
    month and over the complete months."""
    async with open_app() as app:
        report = await app.analytics.backtest(report_period(start, end, as_of), pipeline)
        currency = app.analytics.currency(pipeline)
    _show(
        as_json,
        as_csv,
        lambda: {"period": shapes.period(report.period), "currency": currency, **shapes.backtest(report)},
        lambda: shapes.backtest_csv(report),
        lambda: print_backtest(report, console, currency),
        chart,
        lambda charts: charts.draw_backtest(report, currency),
    )


@analytics.command("trend", epilog=_EXAMPLE.format("trend"))
@deferred
async def trend(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    chart: ChartOption = None,
) -> None:
    """The headline figures month by month (win rate, cycle times, average deal, open value,
    velocity), each month as it stood at its end."""
    async with open_app() as app:
        report = await app.analytics.trend(report_period(start, end, as_of), pipeline)
        currency = app.analytics.currency(pipeline)
    _show(
        as_json,
        as_csv,
        lambda: shapes.trend(report, currency),
        lambda: shapes.trend_csv(report),
        lambda: print_trend(report, console, currency),
        chart,
        lambda charts: charts.draw_trend(report, currency),
    )


@analytics.command("waterfall", epilog=_EXAMPLE.format("waterfall").replace(" --as-of 2026-07-01", ""))
@deferred
async def waterfall(
    pipeline: PipelineOption = None,
    start: From = None,
    end: To = None,
    as_of: AsOf = None,
    by_rep: Annotated[
        bool, typer.Option("--by-rep", help="a column per rep (default: per pipeline)")
    ] = False,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
    chart: ChartOption = None,
) -> None:
    """The open pipeline at --from, what flowed in and out up to --to (new, reopened, amounts
    revised, won, lost; start + flows = end), and the moves within it (advanced, close dates pulled
    in and pushed out), per pipeline or per rep."""
    async with open_app() as app:
        report = await app.analytics.waterfall(report_period(start, end, as_of), pipeline)
        currency = app.analytics.currency(pipeline)
    _show(
        as_json,
        as_csv,
        lambda: forecast_shapes.waterfall(report, currency),
        lambda: forecast_shapes.waterfall_csv(report, by_rep),
        lambda: print_waterfall(report, console, currency, by_rep),
        chart,
        lambda charts: charts.draw_waterfall(report, currency, by_rep),
    )


@analytics.command(
    "forecast", epilog="Example: dealflow analytics forecast --pipeline software --as-of 2026-07-01"
)
@deferred
async def forecast(
    pipeline: PipelineOption = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
    as_csv: CsvFlag = False,
) -> None:
    """The deals open at --as-of (default: now) by expected close month and forecast category
    (commit, best case, pipeline: the deal's own, else its stage's), amount and weighted amount."""
    async with open_app() as app:
        report = await app.analytics.forecast(report_period(None, as_of, as_of), pipeline)
        currency = app.analytics.currency(pipeline)
    _show(
        as_json,
        as_csv,
        lambda: forecast_shapes.forecast(report, currency),
        lambda: forecast_shapes.forecast_csv(report),
        lambda: print_forecast(report, console, currency),
    )


def _show(
    as_json: bool,
    as_csv: bool,
    as_dict: Callable[[], Any],
    as_rows: Callable[[], Iterable[list[str]]],
    as_table: Callable[[], None],
    chart: Path | None = None,
    draw: "Callable[[Any], Figure] | None" = None,
) -> None:
    """One report three ways: `--json`, `--csv`, or the table; and with `--chart`, also a PNG (`draw`
    is given cli/analytics_charts.py, loaded only then: matplotlib is slow to import)."""
    if as_json:
        render_json.print_json(as_dict())
    elif as_csv:
        print_csv(as_rows())
    else:
        as_table()
    if chart and draw:
        from cli import analytics_charts

        print_chart_written(analytics_charts.save(draw(analytics_charts), chart), errors)
