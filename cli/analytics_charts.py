"""`dealflow analytics waterfall | velocity | calibration | backtest | trend --chart FILE.png`: each
report as a PNG, drawn with matplotlib's Agg backend (no screen needed). Each `draw_*` returns the
Figure (tests read its bars); `save` writes it. A report without data gives panels that say so."""

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter

from app.analytics import CalibrationReport
from reports.backtest import Backtest
from reports.calibration import StageCalibration
from reports.period import Period
from reports.trend import Trend
from reports.velocity import Velocity, VelocityReport
from reports.waterfall import Waterfall, WaterfallReport

TEAM, REP, UP, DOWN, TOTAL, GREY = "black", "#6baed6", "#41ab5d", "#cb181d", "#2171b5", "#bdbdbd"
Number = Decimal | float | int | None
MAX_GROUPS = 3  # the waterfall: the team, then at most this many pipelines (or reps) beside it

# The waterfall's steps: name, label, sign (0: a total drawn from zero; 1 up; -1 down).
STEPS = (
    ("start", "open at\nthe start", 0),
    ("new", "new", 1),
    ("reopened", "reopened", 1),
    ("amount", "amount\nrevised", 1),
    ("won", "won", -1),
    ("lost", "lost", -1),
    ("end", "open at\nthe end", 0),
)


def save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=100)
    return path


def _scope(pipeline: str | None) -> str:
    return f"pipeline {pipeline}" if pipeline else "all pipelines"


def _float(value: Number) -> float:
    return 0.0 if value is None else float(value)


def _money(value: Number) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")


# --- waterfall -----------------------------------------------------------------------------------


def draw_waterfall(report: WaterfallReport, currency: str, by_rep: bool = False) -> Figure:
    """The team's waterfall (start, each flow up or down, end); beside it each pipeline's (each
    rep's with `by_rep`) when there are several, the first MAX_GROUPS of them."""
    groups = sorted((report.by_rep if by_rep else report.by_pipeline).items())
    panels: list[tuple[str, Waterfall]] = [("team", report.team)]
    if len(groups) > 1:
        panels += [(f"{'rep' if by_rep else 'pipeline'} {name}", w) for name, w in groups[:MAX_GROUPS]]
    figure = Figure(figsize=(1 + 6 * len(panels), 6), layout="constrained")
    more = f" ({len(groups) - MAX_GROUPS} more in the table)" if len(groups) > MAX_GROUPS else ""
    figure.suptitle(
        f"Pipeline waterfall: {_scope(report.pipeline)}, {report.start:%Y-%m-%d} .. {report.end:%Y-%m-%d}"
        f" ({currency}){more}"
    )
    for ax, (title, w) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        _waterfall(ax, title, w)
    return figure


def _waterfall(ax: Axes, title: str, w: Waterfall) -> None:
    heights, bottoms, colors, running = [], [], [], 0.0
    for name, _label, sign in STEPS:
        value = float(w.flow(name).value)
        if sign == 0:  # a total: from zero
            heights.append(value)
            bottoms.append(0.0)
            colors.append(TOTAL)
            running = value
        else:
            change = sign * value
            heights.append(change)
            bottoms.append(running)
            colors.append(UP if change >= 0 else DOWN)
            running += change
    bars = ax.bar([label for _, label, _ in STEPS], heights, bottom=bottoms, color=colors)
    ax.bar_label(bars, [f"{w.flow(n).count} · {_money(w.flow(n).value)}" for n, _, _ in STEPS], fontsize=8)
    ax.set_title(title + ("" if w.balances else " (start + flows ≠ end!)"))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ends = [0.0, *bottoms, *(b + h for b, h in zip(bottoms, heights, strict=True))]
    ax.set_ylim(min(ends) * 1.15, max(max(ends) * 1.15, 1.0))  # room for the labels


# --- velocity --------------------------------------------------------------------------------------

FACTORS: tuple[tuple[str, Callable[[Velocity], Number]], ...] = (
    ("open opportunities", lambda v: v.open),
    ("win rate", lambda v: v.win_rate),
    ("average deal", lambda v: v.average_deal),
    ("cycle length (days)", lambda v: v.cycle_days),
)


def draw_velocity(report: VelocityReport, currency: str) -> Figure:
    """Velocity per rep beside the team's, then its four factors, each its own panel."""
    names = ["team", *sorted(report.by_rep)]
    rows = [report.team, *(report.by_rep[n] for n in names[1:])]
    figure = Figure(figsize=(14, 8), layout="constrained")
    figure.suptitle(f"Velocity: {_scope(report.pipeline)}, {_period(report.period)}")
    axes = figure.subplot_mosaic([["velocity"] * 4, [title for title, _ in FACTORS]])
    _per_name(axes["velocity"], f"velocity ({currency} per day)", names, [v.per_day for v in rows])
    for title, get in FACTORS:
        _per_name(axes[title], title, names, [get(v) for v in rows], percent=title == "win rate")
    return figure


def _per_name(
    ax: Axes, title: str, names: list[str], values: Sequence[Number], percent: bool = False
) -> None:
    colors = [TEAM if n == "team" else REP for n in names]
    bars = ax.bar(names, [_float(v) for v in values], color=colors)
    shown = ["n/a" if v is None else f"{v:.0%}" if percent else f"{v:,.0f}" for v in values]
    ax.bar_label(bars, shown, fontsize=8)
    ax.set_title(title)
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.margins(y=0.15)


def _period(period: Period) -> str:
    return f"{period.start:%Y-%m-%d} .. {period.end:%Y-%m-%d}"


# --- calibration and the backtest ----------------------------------------------------------------


def draw_calibration(report: CalibrationReport) -> Figure:
    """Per pipeline, the share won of the closed deals that reached each stage beside the configured
    win probability; then the backtest, as the command prints it."""
    pipelines = list(report.calibration.by_pipeline.items())
    figure = Figure(figsize=(1 + 6 * (len(pipelines) + 1), 6), layout="constrained")
    figure.suptitle(
        f"Calibration: {_scope(report.calibration.pipeline)},"
        f" deals closed {_period(report.calibration.period)}"
    )
    axes = figure.subplots(1, len(pipelines) + 1, squeeze=False)[0]
    for ax, (pid, stages) in zip(axes, pipelines, strict=False):
        _calibration(ax, pid, stages)
    _backtest(axes[-1], report.backtest, report.currency)
    return figure


def _calibration(ax: Axes, pipeline: str, stages: list[StageCalibration]) -> None:
    xs = range(len(stages))
    won = ax.bar([x - 0.2 for x in xs], [_float(s.empirical) for s in stages], 0.4, color=TOTAL, label="won")
    configured = [_float(s.configured) for s in stages]
    ax.bar([x + 0.2 for x in xs], configured, 0.4, color=GREY, label="configured")
    ax.bar_label(won, ["n/a" if s.empirical is None else f"{s.empirical:.0%} of {s.closed}" for s in stages],
                 fontsize=8)  # fmt: skip
    ax.set_xticks(list(xs), [s.stage.replace("_", "\n") for s in stages])
    closed = max((s.closed for s in stages), default=0)
    ax.set_title(f"pipeline {pipeline}" + ("" if closed else ": no deal closed"))
    ax.set_ylim(0, 1.1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize=8)


def draw_backtest(report: Backtest, currency: str) -> Figure:
    figure = Figure(figsize=(9, 6), layout="constrained")
    figure.suptitle(f"Backtest: {_scope(report.pipeline)}, {_period(report.period)}")
    _backtest(figure.subplots(), report, currency)
    return figure


def _backtest(ax: Axes, b: Backtest, currency: str) -> tuple[BarContainer, BarContainer] | None:
    """Per month the forecast at its start beside the amount won in it (a month under way: so far)."""
    ax.set_title(f"backtest: the forecast at each month's start vs won in it ({currency})", fontsize=10)
    ax.set_xlabel(f"mean absolute error over the complete months: {_money(b.mean_absolute_error)}")
    if not b.months:
        _empty(ax, "no month begins in the period")
        return None
    xs = range(len(b.months))
    forecast = ax.bar([x - 0.2 for x in xs], [float(m.forecast) for m in b.months], 0.4, color=GREY,
                      label="forecast")  # fmt: skip
    won = ax.bar([x + 0.2 for x in xs], [float(m.won_value) for m in b.months], 0.4, color=UP, label="won")
    labels = [m.month.label if m.complete else f"{m.month.label}\n(so far)" for m in b.months]
    ax.set_xticks(list(xs), labels)
    ax.tick_params(axis="x", labelsize=8)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.legend(fontsize=8)
    return forecast, won


# --- trend ---------------------------------------------------------------------------------------

TREND: tuple[tuple[str, Callable[[Velocity], Number]], ...] = (
    ("win rate", lambda v: v.win_rate),
    ("velocity per day", lambda v: v.per_day),
    ("open value", lambda v: v.open_value),
    ("average deal", lambda v: v.average_deal),
    ("total sales time (days)", lambda v: v.cycle_days),
    ("sales cycle (days)", lambda v: v.sales_cycle_days),
)


def draw_trend(report: Trend, currency: str) -> Figure:
    """The headline figures month by month, one panel each (a gap: no figure that month)."""
    figure = Figure(figsize=(15, 8), layout="constrained")
    figure.suptitle(
        f"Monthly trend: {_scope(report.pipeline)}, {_period(report.period)};"
        f" each month at its end ({currency})"
    )
    labels = [m.month.label if m.complete else f"{m.month.label}*" for m in report.months]
    for ax, (title, get) in zip(figure.subplots(2, 3).flat, TREND, strict=True):
        ax.set_title(title)
        if not labels:
            _empty(ax, "no month begins in the period")
            continue
        values = [get(m.figures) for m in report.months]
        xs = range(len(labels))  # positions, so that a month without the figure keeps its place
        ax.plot(xs, [float("nan") if v is None else float(v) for v in values], marker="o", color=TOTAL)
        ax.set_xticks(list(xs), labels, rotation=30, fontsize=8)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set_ylim(bottom=0)
        if title == "win rate":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    if labels and not report.months[-1].complete:
        figure.supxlabel("* under way: as of the as-of date", fontsize=9)
    return figure
