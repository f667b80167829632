"""The waterfall and the forecast by category as tables (`dealflow analytics waterfall | forecast`)."""

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from app.forecast_shapes import ROWS
from cli.render_analytics import _money, _scope
from reports.forecast_categories import CATEGORIES, ForecastByCategory
from reports.waterfall import WaterfallReport

_LABELS = {
    "start": "open at the start",
    "new": "+ new",
    "reopened": "+ reopened",
    "amount": "± amount revised",
    "won": "- won",
    "lost": "- lost",
    "end": "= open at the end",
    "advanced": "advanced a stage",
    "pulled_in": "close date pulled in",
    "pushed_out": "close date pushed out",
}


def print_waterfall(report: WaterfallReport, console: Console, currency: str, by_rep: bool) -> None:
    console.print(
        f"[bold]Pipeline waterfall[/bold] — {_scope(report.pipeline)}, {report.start:%Y-%m-%d %H:%M} .."
        f" {report.end:%Y-%m-%d %H:%M} UTC ({currency})"
    )
    groups = sorted((report.by_rep if by_rep else report.by_pipeline).items())
    table = Table("", "team", *(name for name, _ in groups))
    for name, _sign in ROWS:
        cells = [report.team.flow(name), *(w.flow(name) for _, w in groups)]
        shown = [f"{f.count} · {_money(f.value)}" for f in cells]
        table.add_row(_LABELS[name], *shown, end_section=name in ("lost", "end"))
    console.print(table)
    balanced = all(w.balances for w in (report.team, *report.by_rep.values(), *report.by_pipeline.values()))
    holds = "holds in every column" if balanced else "[red]does NOT hold[/red]"
    console.print(f"  start + new + reopened ± amount - won - lost = end: {holds}")
    if report.most_pushed:
        pushed = ", ".join(f"{d.opportunity_id} {d.pushes}x (+{d.days_pushed} d)" for d in report.most_pushed)
        console.print(f"  pushed most: {pushed}")


def print_forecast(report: ForecastByCategory, console: Console, currency: str) -> None:
    console.print(
        f"[bold]Forecast by close month and category[/bold] — {_scope(report.pipeline)}, open at"
        f" {report.as_of:%Y-%m-%d %H:%M} UTC ({currency}; amount / weighted by the stage's probability)"
    )
    table = Table("close month", *(c.value for c in CATEGORIES), "total")
    for month in report.months:
        here = [report.cells.get((month, c)) for c in CATEGORIES]
        deals = sum(c.deals for c in here if c)
        amount = sum((c.amount for c in here if c), start=Decimal(0))
        cells = [f"{c.deals} · {_money(c.amount)} / {_money(c.weighted)}" if c else "—" for c in here]
        table.add_row(month or "no date", *cells, f"{deals} · {_money(amount)}")
    totals = [report.by_category.get(c) for c in CATEGORIES]
    table.add_row(
        "[bold]all[/bold]",
        *(f"{c.deals} · {_money(c.amount)} / {_money(c.weighted)}" if c else "—" for c in totals),
        f"{report.total.deals} · {_money(report.total.amount)} / {_money(report.total.weighted)}",
    )
    console.print(table)
