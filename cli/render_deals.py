"""Everything else the command line shows people: an opportunity, a relationship, the list, the
approvals desk, the pipelines, stalled deals, reconciliation, the brief's schedule, and errors."""

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.brief_schedule import ScheduledBrief
from app.queries import DealSummary, PipelineVersionRow
from app.reconcile import StreamCheck
from app.reports import ExportedLog, StalledReport
from domain.after_sales import RelationshipState
from domain.opportunity import OpportunityState
from domain.pipeline import Pipeline
from domain.stages import STAGE_ORDER
from reports.pending_approvals import PendingApproval, RefusedDecision


def print_state(state: OpportunityState, console: Console) -> None:
    console.print(
        f"[bold]{escape(state.opportunity_id)}[/bold]  {state.status}  owner {escape(state.owner)}"
        f"  pipeline {state.pipeline}  amount {state.amount}  company {escape(state.company)}"
        f"  (v{state.version})"
    )
    if state.lost:
        console.print(f"  lost in {state.lost.stage}: {state.lost.reason} {escape(state.lost.note)}".rstrip())
    if state.expected_close_date is not None or state.forecast_category is not None:
        close = f"expected to close {state.expected_close_date or 'on no date yet'}"
        pushed = f" (pushed {state.close_date_pushes}x)" if state.close_date_pushes else ""
        category = f"; forecast category {state.forecast_category}" if state.forecast_category else ""
        console.print(f"  {close}{pushed}{category}")
    if (req := state.discount_request) is not None:
        by = f" by {', '.join(req.decided_by)}" if req.decided_by else ""
        console.print(
            f"  discount {req.discount}% ({req.status}{escape(by)});"
            f" approved discount {state.approved_discount}%"
        )
    if refused := state.refused_decisions:  # decisions sent with --no-wait that the rules refused
        last = refused[-1]
        why = escape(f"[{last.rule}] {last.message}")
        console.print(
            f"  refused decision of {escape(last.approver)}: {why}"
            f" ({len(refused)} kept; `dealflow approvals refused` lists them)"
        )
    if (review := state.contract) is not None:
        fails = "; ".join(f"{f.check}: {f.detail}" for f in review.failures)
        console.print(
            f"  contract {escape(review.contract.contract_id)}: {review.status}"
            f"{' (escalated to the legal lead)' if review.escalated else ''}"
            f"{' — ' + escape(fails) if fails else ''}"
        )
    for visit in state.timeline:
        end = f"{visit.exited_at:%Y-%m-%d %H:%M}" if visit.exited_at else "now"
        console.print(f"  {visit.stage:<15} {visit.entered_at:%Y-%m-%d %H:%M} → {end}")


def print_relationship(state: RelationshipState, console: Console) -> None:
    closed = f"  closed: {escape(state.closed)}" if state.closed else ""
    console.print(
        f"[bold]{escape(state.deal_id)}[/bold] after-sales  customer {escape(state.customer)}"
        f" ({escape(state.contact_person)})  owner {escape(state.owner)}  won {state.won_at:%Y-%m-%d}"
        f"  (v{state.version}){closed}"
    )
    table = Table("revisit", "due", "status", "score", "comment")
    for r in state.revisits:
        table.add_row(
            str(r.number), f"{r.due_at:%Y-%m-%d}", r.status.value, str(r.score or ""), escape(r.comment)
        )
    console.print(table)
    if state.renewals:
        console.print(f"renewals: {', '.join(state.renewals)}")


def print_list(found: list[DealSummary], console: Console) -> None:
    table = Table("opportunity", "stage", "owner", "pipeline", "amount", "running")
    for d in found:
        table.add_row(
            escape(d.opportunity_id),
            d.stage,
            escape(d.owner),
            escape(d.pipeline),
            f"{d.amount:,.0f}",
            "yes" if d.running else "no",
        )
    console.print(table)
    console.print(f"{len(found)} opportunities")


def print_pending(found: list[PendingApproval], console: Console) -> None:
    table = Table(
        "opportunity", "owner", "discount", "amount", "level", "waiting since", "escalates at", "may decide"
    )
    for p in found:
        table.add_row(
            escape(p.opportunity_id),
            escape(p.owner),
            f"{p.discount}%",
            f"{p.amount:,.0f}",
            p.level,
            f"{p.waiting_since:%Y-%m-%d %H:%M}",
            f"{p.escalates_at:%Y-%m-%d %H:%M}",
            ", ".join(p.approvers),
        )
    console.print(table)
    console.print(f"{len(found)} pending")


def print_refused(found: list[RefusedDecision], console: Console) -> None:
    table = Table("opportunity", "at", "approver", "decision", "rule", "why", "sent by", "request id")
    for r in found:
        table.add_row(
            escape(r.opportunity_id),
            f"{r.at:%Y-%m-%d %H:%M}",
            escape(r.approver),
            "approve" if r.approve else "reject",
            r.rule,
            escape(r.message),
            escape(r.actor or "?"),
            escape(r.decision_request_id),
        )
    console.print(table)
    console.print(f"{len(found)} refused (the requests they were about are unchanged)")


def print_pipelines(pipelines: dict[str, Pipeline], console: Console) -> None:
    for p in pipelines.values():
        table = Table("stage", "exit criteria", "win probability", "SLA (days)", title=f"{p.id}: {p.name}")
        for stage in STAGE_ORDER:
            c = p.stage(stage)
            table.add_row(
                stage.value, ", ".join(c.exit_criteria), f"{c.win_probability:.0%}", str(c.sla_days or "—")
            )
        console.print(table)


def print_pipeline_versions(versions: list[PipelineVersionRow], console: Console) -> None:
    table = Table("pipeline", "version", "first used", "", title="pipeline versions deals used")
    for v in versions:
        table.add_row(
            escape(v.pipeline_id),
            v.version[:12],
            f"{v.first_seen:%Y-%m-%d %H:%M} UTC",
            "today's" if v.current else "",
        )
    console.print(table)
    console.print(f"{len(versions)} versions")


def print_stalled(report: StalledReport, console: Console) -> None:
    table = Table(
        "opportunity",
        "owner",
        "pipeline",
        "stage",
        "idle days",
        "SLA days",
        "last activity",
        title=f"stalled as of {report.as_of:%Y-%m-%d %H:%M} UTC",
    )
    for d in report.stalled:
        table.add_row(
            escape(d.opportunity_id),
            escape(d.owner),
            d.pipeline,
            d.stage,
            f"{d.idle_days:.1f}",
            str(d.sla_days),
            f"{d.last_activity_at:%Y-%m-%d}",
        )
    console.print(table)
    if report.escalations:
        by_rep = Table("rep", "stage", "escalations", title="escalations to managers, last 365 days")
        for c in report.escalations:
            by_rep.add_row(escape(c.owner), c.stage, str(c.count))
        console.print(by_rep)


def print_reconciled(checks: list[StreamCheck], console: Console) -> None:
    bad = [c for c in checks if not c.ok]
    table = Table("stream", "runs", "emitted", "stored", "in flight", "missing", "extra", "differing", "")
    for c in bad or checks[:20]:
        table.add_row(
            escape(c.stream),
            str(c.runs),
            str(c.emitted),
            str(c.stored),
            str(c.in_flight),
            str(len(c.missing)),
            str(len(c.extra)),
            str(len(c.differing)),
            "[green]ok[/green]" if c.ok else f"[red]{escape(_verdict(c))}[/red]",
        )
    console.print(table)
    for c in bad:
        for kind, items in (("missing", c.missing), ("extra", c.extra), ("differing", c.differing)):
            for item in items:
                console.print(f"  {escape(c.stream)}: {kind} {escape(item)}")
        for kind, text in (("stuck", c.stuck), ("failing", c.failing)):
            if text:
                console.print(f"  {escape(c.stream)}: {kind}: {escape(text)}", soft_wrap=True)
    events = sum(c.stored for c in checks)
    verdict = "[green]all match[/green]" if not bad else f"[red]{len(bad)} differ or are stuck[/red]"
    console.print(f"{len(checks)} streams, {events:,} stored events: {verdict}")


def _verdict(c: StreamCheck) -> str:
    if c.problem:
        return c.problem
    if c.failing:
        return "failing"
    if c.missing or c.extra or c.differing:
        return "differs"
    return "stuck"


def print_schedule(scheduled: ScheduledBrief, console: Console) -> None:
    runs = ", ".join(f"{t:%a %Y-%m-%d %H:%M %Z}" for t in scheduled.next_runs)
    console.print(f"schedule {scheduled.schedule_id}: next runs {runs}")


def print_error(kind: str, message: str, console: Console) -> None:
    """A refusal or an error, its text as written (no markup read into it), never wrapped: a
    script reading stderr gets one line per error."""
    console.print(f"[red]{kind}[/red] {escape(message)}", soft_wrap=True)


def print_request_id(request_id: str, console: Console) -> None:
    console.print(f"request id: {escape(request_id)}", soft_wrap=True)


def print_started(opportunity_id: str, console: Console) -> None:
    console.print(f"started {escape(opportunity_id)}")


def print_renewal_opened(state: RelationshipState, console: Console) -> None:
    console.print(f"opened renewal {escape(state.renewals[-1])}")
    print_relationship(state, console)


def print_exported(written: ExportedLog, console: Console) -> None:
    console.print(
        f"wrote {written.events:,} events of {written.cases:,} opportunities"
        f" to {written.path} ({written.format})"
    )


def print_chart_written(path: Path, console: Console) -> None:
    console.print(f"chart written to {path}")


def print_progress(done: int, total: int | None, what: str, console: Console) -> None:
    console.print(f"  {done:,}{f' of {total:,}' if total is not None else ''} {what}")
