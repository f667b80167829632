"""The reports for people: rich tables of the sales report (cycle times, funnel, approvals) and
the sales brief. (`--json` is cli/render_json.py; deals, lists and desks are cli/render_deals.py.)"""

import statistics

from rich.console import Console
from rich.table import Table

from app.reports import SalesReport
from domain.sales_brief import SalesBrief
from reports.approvals import ApprovalReport
from reports.cycle_times import CYCLE_METRICS, CycleTimeReport, Stats, laggards
from reports.funnel import PipelineMetrics

_TITLES = {
    "lead_conversion": "lead conversion",
    "sales_cycle": "sales cycle",
    "total_sales": "total sales time",
}


def _days(stats: Stats | None) -> str:
    return "—" if stats is None else f"{stats.mean:.1f}"


def won_per_rep(report: CycleTimeReport, reps: list[str]) -> dict[str, int]:
    """Deals each rep won in the period: their sales cycles that ended in it."""
    cycle = report.cycles.get("sales_cycle")
    return {rep: (s.n if cycle and (s := cycle.by_rep.get(rep)) else 0) for rep in reps}


def print_sales_report(report: SalesReport, console: Console) -> None:
    print_report(report.cycle_times, console)
    print_pipeline(report.pipeline, console, report.currency)
    print_approvals(report.approvals, console)


def print_report(report: CycleTimeReport, console: Console) -> None:
    p = report.period
    scope = f"pipeline {report.pipeline}" if report.pipeline else "all pipelines"
    console.print(
        f"[bold]Cycle times[/bold] — {scope}, durations ending {p.start:%Y-%m-%d} .. {p.end:%Y-%m-%d},"
        f" events as of {p.as_of:%Y-%m-%d %H:%M} UTC (days)"
    )
    if not report.cycles:
        console.print("  no opportunity reached contact or deal in this period")
        return
    reps = sorted({rep for b in report.cycles.values() for rep in b.by_rep})
    table = Table(show_header=True, header_style="bold")
    table.add_column("rep")
    for metric in CYCLE_METRICS:
        table.add_column(f"{_TITLES[metric]}\nmean", justify="right")
    table.add_column("deals won", justify="right")
    flagged = {lag.rep for lag in laggards(report)}
    won = won_per_rep(report, reps)
    for rep in reps:
        row = [report.cycles[m].by_rep.get(rep) if m in report.cycles else None for m in CYCLE_METRICS]
        name = f"[red]{rep} ⚑[/red]" if rep in flagged else rep
        table.add_row(name, *(_days(s) for s in row), str(won[rep]))
    team = [report.cycles[m].team if m in report.cycles else None for m in CYCLE_METRICS]
    # Each team row holds one statistic over the reps in every column, deals won included (a
    # team's total in a "mean" row would read as one rep's average).
    counts = list(won.values()) or [0]
    table.add_row(
        "[bold]team mean[/bold]",
        *(f"[bold]{_days(s)}[/bold]" for s in team),
        f"[bold]{statistics.mean(counts):.1f}[/bold]",
        end_section=True,
    )
    table.add_row(
        "team median",
        *("—" if s is None else f"{s.median:.1f}" for s in team),
        f"{statistics.median(counts):g}",
    )
    console.print(table)
    console.print(f"  the team won {sum(counts)} deals in the period ({len(reps)} reps)")

    for lag in laggards(report):
        where = f"; most of it in {lag.stage} (+{lag.stage_excess_days:.1f} d vs team)" if lag.stage else ""
        console.print(
            f"  ⚑ {lag.rep}: sales cycle {lag.sales_cycle_days:.1f} d vs team {lag.team_days:.1f} d{where}"
        )

    stages = Table(title="time in stage (days, per visit)", show_header=True, header_style="bold")
    for col in ("stage", "visits", "mean", "median", "p90", "slowest rep (mean)"):
        stages.add_column(col, justify="left" if col in ("stage", "slowest rep (mean)") else "right")
    for stage, b in report.stages.items():
        if b.team is None:
            continue
        slow = max(b.by_rep.items(), key=lambda kv: kv[1].mean, default=None)
        stages.add_row(
            stage,
            str(b.team.n),
            f"{b.team.mean:.1f}",
            f"{b.team.median:.1f}",
            f"{b.team.p90:.1f}",
            f"{slow[0]} ({slow[1].mean:.1f})" if slow else "",
        )
    console.print(stages)


def print_approvals(report: ApprovalReport, console: Console) -> None:
    console.print(
        f"[bold]Discount approvals[/bold]: {report.requests} requests needed an approver; "
        f"{report.escalated} escalated ({report.escalation_rate:.0%}), {report.rejected} rejected, "
        f"{report.expired} expired"
    )
    if report.decision_times:
        table = Table("level", "decisions", "mean hours", "median hours", title="time to decision")
        for t in report.decision_times:
            table.add_row(t.level, str(t.decisions), f"{t.mean_hours:.1f}", f"{t.median_hours:.1f}")
        console.print(table)
    if report.granted_team is not None:
        table = Table("rep", "deals with a discount", "mean discount %", title="discount granted")
        team = report.granted_team.mean_discount
        for rep, g in report.granted_by_rep.items():
            flag = " [red]▲[/red]" if g.mean_discount > team else ""
            table.add_row(rep, str(g.deals), f"{g.mean_discount:.1f}{flag}")
        table.add_row("[bold]team[/bold]", str(report.granted_team.deals), f"[bold]{team:.1f}[/bold]")
        console.print(table)


def print_brief(brief: SalesBrief, console: Console) -> None:
    scope = brief.pipeline or "all pipelines"
    title = f"sales brief, {brief.period} {brief.start} to {brief.end} ({scope})"
    table = Table(
        "rep",
        "new",
        "won",
        "won amount",
        "lost",
        "new customers",
        "revisits",
        "missed",
        "feedback",
        title=title,
    )
    rows = [*brief.per_rep.items(), ("team", brief.team)]
    for name, f in rows:
        mean = f"{f.mean_feedback:.1f} ({f.feedback})" if f.mean_feedback is not None else "—"
        table.add_row(
            name if name != "team" else "[bold]team[/bold]",
            str(f.opened),
            str(f.won),
            f"{f.won_amount:,.0f}",
            str(f.lost),
            str(f.new_customers),
            str(f.revisits),
            str(f.revisits_missed),
            mean,
        )
    console.print(table)
    if brief.lost_by_reason:
        console.print("lost by reason: " + ", ".join(f"{r} {n}" for r, n in brief.lost_by_reason.items()))
    if brief.new_customers:
        console.print("new customers: " + ", ".join(brief.new_customers))


def print_pipeline(metrics: PipelineMetrics, console: Console, currency: str) -> None:
    funnel = Table("stage", "entered", "moved on", "conversion", title="funnel (entered in the period)")
    for step in metrics.funnel:
        share = f"{step.conversion:.0%}" if step.conversion is not None else "—"
        funnel.add_row(step.stage, str(step.entered), str(step.moved_on), share)
    console.print(funnel)
    rate = f"{metrics.win_rate:.0%}" if metrics.win_rate is not None else "—"
    reasons = ", ".join(f"{r} {n}" for r, n in metrics.lost_by_reason.most_common())
    console.print(
        f"win rate {rate} ({metrics.won} won, {metrics.lost} lost{': ' + reasons if reasons else ''})"
    )
    console.print(
        f"forecast (amount x stage win probability, open at the as-of date): {metrics.forecast:,.0f}"
        f" {currency} of {metrics.pipeline_value:,.0f} {currency} in the pipeline"
    )
