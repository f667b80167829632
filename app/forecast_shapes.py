"""The waterfall and the forecast by category as plain data (`--json`, `--csv`, the API), as
`app.analytics_shapes` shapes the other analytics."""

from typing import Any

from app.analytics_shapes import TEAM, table
from reports.forecast_categories import CATEGORIES, Cell, ForecastByCategory
from reports.waterfall import Flow, Waterfall, WaterfallReport

# The waterfall's rows in order, each with its sign in the identity (0: a move within the pipeline).
ROWS = (
    ("start", 1),
    ("new", 1),
    ("reopened", 1),
    ("amount", 1),
    ("won", -1),
    ("lost", -1),
    ("end", 0),
    ("advanced", 0),
    ("pulled_in", 0),
    ("pushed_out", 0),
)


def flow(f: Flow) -> dict[str, Any]:
    return {"count": f.count, "value": f.value}


def waterfall_figures(w: Waterfall) -> dict[str, Any]:
    return {**{name: flow(w.flow(name)) for name, _ in ROWS}, "balances": w.balances}


def waterfall(report: WaterfallReport, currency: str, by_rep: bool = True) -> dict[str, Any]:
    return {
        "start": report.start,
        "end": report.end,
        "pipeline": report.pipeline,
        "currency": currency,
        "identity": "end = start + new + reopened + amount - won - lost (count: without amount)",
        "team": waterfall_figures(report.team),
        "by_pipeline": {p: waterfall_figures(w) for p, w in sorted(report.by_pipeline.items())},
        **({"by_rep": {r: waterfall_figures(w) for r, w in sorted(report.by_rep.items())}} if by_rep else {}),
        "most_pushed": [
            {
                "opportunity_id": d.opportunity_id,
                "owner": d.owner,
                "pipeline": d.pipeline,
                "pushes": d.pushes,
                "days_pushed": d.days_pushed,
                "close_date": d.close_date.isoformat(),
            }
            for d in report.most_pushed
        ],
    }


def waterfall_csv(report: WaterfallReport, by_rep: bool = True) -> list[list[str]]:
    groups = [(TEAM, report.team), *sorted(report.by_rep.items() if by_rep else report.by_pipeline.items())]
    rows = [[who, name, w.flow(name).count, w.flow(name).value] for who, w in groups for name, _ in ROWS]
    return table(["rep" if by_rep else "pipeline", "flow", "count", "value"], rows)


def forecast_cell(c: Cell) -> dict[str, Any]:
    return {"deals": c.deals, "amount": c.amount, "weighted": c.weighted}


def forecast(report: ForecastByCategory, currency: str) -> dict[str, Any]:
    return {
        "as_of": report.as_of,
        "pipeline": report.pipeline,
        "currency": currency,
        "months": [
            {
                "month": m,
                **{
                    c.value: forecast_cell(report.cells[(m, c)]) for c in CATEGORIES if (m, c) in report.cells
                },
            }
            for m in report.months
        ],
        "by_category": {
            c.value: forecast_cell(report.by_category[c]) for c in CATEGORIES if c in report.by_category
        },
        "total": forecast_cell(report.total),
    }


def forecast_csv(report: ForecastByCategory) -> list[list[str]]:
    rows = [
        [m or "", c.value, x.deals, x.amount, x.weighted]
        for m in report.months
        for c in CATEGORIES
        if (x := report.cells.get((m, c))) is not None
    ]
    return table(["close_month", "category", "deals", "amount", "weighted"], rows)
