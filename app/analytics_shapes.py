"""The analytics as plain data, one way for every front end: `--json` (dicts: amounts stay
Decimal until the JSON encoder makes them decimal strings, datetimes RFC 3339 UTC) and `--csv`
(a header and rows of text). The derived figures (rates, velocity, errors) are spelled out here,
so a reader of the JSON need not recompute them."""

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.analytics import CalibrationReport
from domain.stages import LossReason
from reports.backtest import Backtest, MonthBacktest
from reports.months import Month
from reports.open_age import OpenAgeReport, OpenDeal
from reports.period import Period
from reports.rep_performance import FUNNEL_STAGES, RepFigures, RepReport
from reports.trend import Trend
from reports.velocity import Velocity, VelocityReport

TEAM = "(team)"  # the team's row in a CSV beside the reps'


def period(p: Period) -> dict[str, datetime]:
    return {"start": p.start, "end": p.end, "as_of": p.as_of}


def month(m: Month) -> dict[str, Any]:
    return {"month": m.label, "start": m.start, "end": m.end}


def rep_figures(f: RepFigures) -> dict[str, Any]:
    return {
        "funnel": [{**dataclasses.asdict(s), "conversion": s.conversion} for s in f.funnel],
        "won": f.won,
        "lost": f.lost,
        "win_rate": f.win_rate,
        "lost_by_reason": dict(f.lost_by_reason.most_common()),
        "lost_by_stage": dict(f.lost_by_stage.most_common()),
    }


def reps(report: RepReport) -> dict[str, Any]:
    return {
        "period": period(report.period),
        "pipeline": report.pipeline,
        "team": rep_figures(report.team),
        "by_rep": {rep: rep_figures(f) for rep, f in report.by_rep.items()},
        "behind_team": report.behind(),
    }


def velocity(v: Velocity) -> dict[str, Any]:
    return {
        **dataclasses.asdict(v),
        "win_rate": v.win_rate,
        "average_deal": v.average_deal,
        "velocity_per_day": v.per_day,
    }


def velocity_report(report: VelocityReport, currency: str) -> dict[str, Any]:
    return {
        "period": period(report.period),
        "pipeline": report.pipeline,
        "currency": currency,
        "team": velocity(report.team),
        "by_rep": {rep: velocity(v) for rep, v in report.by_rep.items()},
    }


def open_age(report: OpenAgeReport, currency: str) -> dict[str, Any]:
    return {
        "period": period(report.period),
        "pipeline": report.pipeline,
        "currency": currency,
        "open_deals": report.open_deals,
        "stages": [dataclasses.asdict(s) for s in report.stages],
        "deals": [dataclasses.asdict(d) for d in report.deals],
    }


def backtest_month(m: MonthBacktest) -> dict[str, Any]:
    fields = dataclasses.asdict(m)
    del fields["month"]
    return {**month(m.month), **fields, "error": m.error}


def backtest(b: Backtest) -> dict[str, Any]:
    return {
        "months": [backtest_month(m) for m in b.months],
        "overall": {
            "complete_months": len(b.complete),
            "forecast": b.forecast,
            "won_value": b.won_value,
            "error": b.error,
            "mean_absolute_error": b.mean_absolute_error,
        },
    }


def calibration(report: CalibrationReport) -> dict[str, Any]:
    c = report.calibration
    return {
        "period": period(c.period),
        "pipeline": c.pipeline,
        "currency": report.currency,
        "stages": {
            pid: [{**dataclasses.asdict(s), "empirical": s.empirical, "gap": s.gap} for s in rows]
            for pid, rows in c.by_pipeline.items()
        },
        "backtest": backtest(report.backtest),
    }


def trend(report: Trend, currency: str) -> dict[str, Any]:
    return {
        "period": period(report.period),
        "pipeline": report.pipeline,
        "currency": currency,
        "months": [{**month(m.month), "complete": m.complete, **velocity(m.figures)} for m in report.months],
    }


# --- CSV: a header, then rows ------------------------------------------------------------------


def cell(value: object) -> str:
    """Text for a CSV cell: decimals as written, datetimes RFC 3339 UTC, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)  # a Decimal as written


def table(header: list[str], rows: Sequence[Sequence[object]]) -> list[list[str]]:
    return [header, *([cell(v) for v in row] for row in rows)]


def reps_csv(report: RepReport) -> list[list[str]]:
    reasons = [r.value for r in LossReason]
    header = ["rep", "won", "lost", "win_rate"]
    header += [f"{s}_{what}" for s in FUNNEL_STAGES for what in ("entered", "moved_on")]
    header += [f"lost_{r}" for r in reasons]
    rows = []
    for rep, f in [*report.by_rep.items(), (TEAM, report.team)]:
        funnel = [n for s in f.funnel for n in (s.entered, s.moved_on)]
        rows.append([rep, f.won, f.lost, f.win_rate, *funnel, *(f.lost_by_reason[r] for r in reasons)])
    return table(header, rows)


def velocity_csv(report: VelocityReport) -> list[list[str]]:
    columns = ["open", "open_value", "won", "won_value", "lost", "win_rate", "average_deal"]
    columns += ["cycle_days", "sales_cycle_days", "velocity_per_day"]
    rows = [
        [rep, *(velocity(v)[c] for c in columns)] for rep, v in [*report.by_rep.items(), (TEAM, report.team)]
    ]
    return table(["rep", *columns], rows)


def open_age_csv(report: OpenAgeReport) -> list[list[str]]:
    header = [f.name for f in dataclasses.fields(OpenDeal)]
    return table(header, [list(dataclasses.astuple(d)) for d in report.deals])


def calibration_csv(report: CalibrationReport) -> list[list[str]]:
    header = ["pipeline", "stage", "closed", "won", "empirical", "configured", "gap"]
    rows = [
        [pid, s.stage, s.closed, s.won, s.empirical, s.configured, s.gap]
        for pid, stages in report.calibration.by_pipeline.items()
        for s in stages
    ]
    return table(header, rows)


def backtest_csv(b: Backtest) -> list[list[str]]:
    rows = [backtest_month(m) for m in b.months]
    return table(_keys(rows), [list(r.values()) for r in rows])


def trend_csv(report: Trend) -> list[list[str]]:
    rows = [{**month(m.month), "complete": m.complete, **velocity(m.figures)} for m in report.months]
    return table(_keys(rows), [list(r.values()) for r in rows])


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else ["month"]
