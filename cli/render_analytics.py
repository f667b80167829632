"""The analytics for people: rich tables of `dealflow analytics …` (`--json` and `--csv` are
app/analytics_shapes.py)."""

import csv
import sys
from collections.abc import Iterable
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from app.analytics import CalibrationReport
from reports.backtest import Backtest
from reports.cycle_times import Stats
from reports.open_age import OpenAgeReport
from reports.period import Period
from reports.rep_performance import FUNNEL_STAGES, RepFigures, RepReport
from reports.trend import Trend
from reports.velocity import Velocity, VelocityReport


def print_csv(rows: Iterable[list[str]]) -> None:
    csv.writer(sys.stdout, lineterminator="\n").writerows(rows)


def _scope(pipeline: str | None) -> str:
    return f"pipeline {pipeline}" if pipeline else "all pipelines"


def _when(p: Period) -> str:
    return f"{p.start:%Y-%m-%d} .. {p.end:%Y-%m-%d}, as of {p.as_of:%Y-%m-%d %H:%M} UTC"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def print_reps(report: RepReport, console: Console) -> None:
    console.print(
        f"[bold]Per rep against the team[/bold] — {_scope(report.pipeline)}, {_when(report.period)}"
    )
    table = Table("rep", "won", "lost", "win rate", *(f"{s}\n→ next" for s in FUNNEL_STAGES), "lost reasons")
    behind = set(report.behind())

    def row(name: str, f: RepFigures, end: bool = False) -> None:
        steps = [f"{_pct(s.conversion)} of {s.entered}" if s.entered else "—" for s in f.funnel]
        reasons = ", ".join(f"{r} {n}" for r, n in f.lost_by_reason.most_common())
        table.add_row(name, str(f.won), str(f.lost), _pct(f.win_rate), *steps, reasons, end_section=end)

    for rep, f in report.by_rep.items():
        row(f"[red]{rep} ▼[/red]" if rep in behind else rep, f)
    row("[bold]team[/bold]", report.team)
    console.print(table)
    if behind:
        console.print(
            f"  ▼ win rate below the team's {_pct(report.team.win_rate)}: {', '.join(sorted(behind))}"
        )


def _stats(s: Stats | None) -> list[str]:
    return ["—"] * 3 if s is None else [f"{s.mean:.1f}", f"{s.median:.1f}", f"{s.p90:.1f}"]


def print_open_age(report: OpenAgeReport, console: Console, currency: str) -> None:
    p = report.period
    console.print(
        f"[bold]Age of the open stage[/bold] — {_scope(report.pipeline)}: {report.open_deals} open at"
        f" {p.as_of:%Y-%m-%d %H:%M} UTC; closed visits ending {p.start:%Y-%m-%d} .. {p.end:%Y-%m-%d} (days)"
    )
    table = Table(
        "stage", "open", "in stage\nmean", "median", "p90", "since opened\nmean", "closed\nvisits",
        "time in stage\nmean", "median", "p90",
    )  # fmt: skip
    for s in report.stages:
        n_open = str(s.open_in_stage.n) if s.open_in_stage else "0"
        n_closed = str(s.closed_visits.n) if s.closed_visits else "0"
        total = _days(s.open_total.mean) if s.open_total else "—"
        table.add_row(s.stage, n_open, *_stats(s.open_in_stage), total, n_closed, *_stats(s.closed_visits))
    console.print(table)
    if not report.deals:
        return
    deals = Table(
        "deal", "owner", "pipeline", "stage", "days in stage", "days open", f"amount ({currency})",
        title=f"longest in their stage ({len(report.deals)} of {report.open_deals})",
    )  # fmt: skip
    for d in report.deals:
        deals.add_row(
            d.opportunity_id, d.owner, d.pipeline, d.stage, f"{d.days_in_stage:.1f}", f"{d.days_open:.1f}",
            _money(d.amount),
        )  # fmt: skip
    console.print(deals)


def print_velocity(report: VelocityReport, console: Console, currency: str) -> None:
    console.print(
        f"[bold]Velocity[/bold] — {_scope(report.pipeline)}, {_when(report.period)}: open opportunities x"
        f" win rate x average deal / cycle length ({currency} per day)"
    )
    table = Table(
        "rep", "open", "open value", "won", "lost", "win rate", "average deal", "cycle days", "velocity / day"
    )

    def row(name: str, v: Velocity, bold: bool = False) -> None:
        cells = [
            str(v.open), _money(v.open_value), str(v.won), str(v.lost), _pct(v.win_rate),
            _money(v.average_deal), _days(v.cycle_days), _money(v.per_day),
        ]  # fmt: skip
        table.add_row(name, *(f"[bold]{c}[/bold]" if bold else c for c in cells))

    for rep, v in report.by_rep.items():
        row(rep, v)
    row("[bold]team[/bold]", report.team, bold=True)
    console.print(table)


def print_calibration(report: CalibrationReport, console: Console) -> None:
    c = report.calibration
    console.print(
        f"[bold]Calibration[/bold] — {_scope(c.pipeline)}, deals closed {_when(c.period)}:"
        " of the closed deals that reached each stage, the share won, beside the configured probability"
    )
    for pid, rows in c.by_pipeline.items():
        table = Table("stage", "closed", "won", "empirical", "configured", "gap", title=f"pipeline {pid}")
        for s in rows:
            gap = "—" if s.gap is None else f"{s.gap:+.0%}"
            table.add_row(s.stage, str(s.closed), str(s.won), _pct(s.empirical), _pct(s.configured), gap)
        console.print(table)
    print_backtest(report.backtest, console, report.currency)


def print_backtest(b: Backtest, console: Console, currency: str) -> None:
    console.print(
        f"[bold]Backtest[/bold] — {_scope(b.pipeline)}: the forecast at each month's start against the"
        f" amount won in the month ({currency})"
    )
    table = Table("month", "open at start", "forecast", "won", "error", "realised (open then, won since)")
    for m in b.months:
        label = m.month.label if m.complete else f"{m.month.label} (so far)"
        table.add_row(
            label, str(m.open_at_start), _money(m.forecast), _money(m.won_value), _money(m.error),
            _money(m.realised),
        )  # fmt: skip
    console.print(table)
    mae = b.mean_absolute_error
    console.print(
        f"  over {len(b.complete)} complete months: forecast {_money(b.forecast)}, won {_money(b.won_value)},"
        f" error {_money(b.error)}, mean absolute error {_money(mae)} {currency}"
    )


def print_trend(report: Trend, console: Console, currency: str) -> None:
    console.print(
        f"[bold]Monthly trend[/bold] — {_scope(report.pipeline)}, {_when(report.period)}; each month as it"
        f" stood at its end ({currency}; cycle times in days)"
    )
    table = Table(
        "month", "won", "lost", "win rate", "sales cycle", "total sales", "average deal", "open",
        "open value", "velocity / day",
    )  # fmt: skip
    for m in report.months:
        v = m.figures
        table.add_row(
            m.month.label if m.complete else f"{m.month.label} (so far)", str(v.won), str(v.lost),
            _pct(v.win_rate), _days(v.sales_cycle_days), _days(v.cycle_days), _money(v.average_deal),
            str(v.open), _money(v.open_value), _money(v.per_day),
        )  # fmt: skip
    console.print(table)
