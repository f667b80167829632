"""`report --chart FILE.png`: the funnel and the time per stage (team mean and median, each rep's
mean) as one PNG, drawn with matplotlib's Agg backend (no screen needed)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from reports.cycle_times import SALES_CYCLE_STAGES, CycleTimeReport
from reports.funnel import PipelineMetrics


def render_chart(report: CycleTimeReport, metrics: PipelineMetrics, path: Path) -> Path:
    """Write the chart; a period without data gives empty panels that say so, not an error."""
    figure, (funnel_ax, stage_ax) = plt.subplots(1, 2, figsize=(14, 6), layout="constrained")
    period = f"{report.period.start:%Y-%m-%d} to {report.period.end:%Y-%m-%d}"
    scope = report.pipeline or "all pipelines"
    figure.suptitle(f"dealflow: {scope}, {period} (as of {report.period.as_of:%Y-%m-%d})", fontsize=13)
    _funnel(funnel_ax, metrics)
    _stages(stage_ax, report)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _funnel(ax: Axes, metrics: PipelineMetrics) -> None:
    steps = [s for s in metrics.funnel if s.entered]
    ax.set_title("Funnel: opportunities that entered each stage, and moved on")
    if not steps:
        ax.text(0.5, 0.5, "no stage entered in this period", ha="center", transform=ax.transAxes)
        return
    names = [s.stage.replace("_", " ") for s in steps][::-1]
    ax.barh(names, [s.entered for s in steps][::-1], color="#c6dbef", label="entered")
    ax.barh(names, [s.moved_on for s in steps][::-1], color="#2171b5", label="moved on to the next stage")
    for y, step in enumerate(steps[::-1]):
        rate = f"{step.conversion:.0%}" if step.conversion is not None else ""
        ax.text(step.entered, y, f" {step.entered} ({rate})", va="center", fontsize=9)
    win = f"{metrics.win_rate:.0%}" if metrics.win_rate is not None else "n/a"
    ax.set_xlabel(f"opportunities - won {metrics.won}, lost {metrics.lost}, win rate {win}")
    ax.set_xlim(0, max(s.entered for s in steps) * 1.25)
    ax.legend(loc="lower right")


def _stages(ax: Axes, report: CycleTimeReport) -> None:
    ax.set_title("Time per stage visit (days): team mean and median, each rep's mean")
    stages = [s for s in report.stages if report.stages[s].team is not None and s != "after_sales"]
    if not stages:
        ax.text(0.5, 0.5, "no stage visit ended in this period", ha="center", transform=ax.transAxes)
        return
    reps = sorted({rep for s in stages for rep in report.stages[s].by_rep})
    width = 0.8 / (len(reps) + 2)
    xs = range(len(stages))
    team = [report.stages[s].team for s in stages]
    ax.bar(
        [x - 0.4 + width / 2 for x in xs],
        [t.mean for t in team if t],
        width,
        color="black",
        label="team mean",
    )
    ax.bar(
        [x - 0.4 + 1.5 * width for x in xs],
        [t.median for t in team if t],
        width,
        color="grey",
        label="team median",
    )
    for i, rep in enumerate(reps):
        means = [report.stages[s].by_rep[rep].mean if rep in report.stages[s].by_rep else 0.0 for s in stages]
        ax.bar([x - 0.4 + (i + 2.5) * width for x in xs], means, width, label=rep, alpha=0.8)
    ax.set_xticks(list(xs), [s.replace("_", "\n") + ("*" if s in SALES_CYCLE_STAGES else "") for s in stages])
    ax.set_ylabel("days")
    ax.set_xlabel("* part of the sales cycle (contact to deal)")
    ax.legend(fontsize=8, ncols=2)
