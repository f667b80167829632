"""dealflow's command line: start deals, move them, query them, report on them, run the demo.

Temporal: TEMPORAL_ADDRESS, or the embedded dev server that `python worker.py` keeps running.
PostgreSQL (metrics): DATABASE_URL, or the embedded server under DEALFLOW_DATA_DIR (.dealflow/).
Every read command takes --json. Refusals exit with status 2 and name the rule that was broken.
"""

import argparse
import asyncio
import dataclasses
import json
import logging
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from app.deal_client import DealClient, DealRefused
from cli import after_sales as after_sales_cli
from cli import brief as brief_cli
from cli import export as export_cli
from cli import reconcile as reconcile_cli
from cli.common import UsageError, console, iso_datetime, open_store, temporal
from cli.render import (
    approvals_json,
    pipeline_json,
    print_approvals,
    print_pipeline,
    print_report,
    report_json,
)
from demo.driver import DemoStuckError
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    LogTouch,
    MarkLost,
    OpenOpportunity,
    Reopen,
    RequestDiscount,
    SubmitContract,
)
from domain.contracts import Contract
from domain.opportunity import OpportunityState
from domain.pipeline import PipelineCatalog, PipelineConfigError, load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from reports.approvals import approval_report
from reports.cycle_times import cycle_time_report
from reports.funnel import pipeline_metrics
from reports.pending_approvals import pending_approvals
from reports.period import Period
from reports.projector import Projector
from reports.stalled import escalations, stalled_deals
from runtime.logging_setup import configure_logging
from runtime.settings import Settings


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _fact(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"facts are KEY=VALUE, got {text!r}")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="starter.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("start", help="open a new opportunity (a lead) in a pipeline")
    p.add_argument("--id", help="opportunity id (default: a new one)")
    p.add_argument("--pipeline", default="software")
    p.add_argument("--owner", required=True, help="the rep who owns it")
    p.add_argument("--company", required=True)
    p.add_argument("--contact", required=True, help="contact person")
    p.add_argument("--source", required=True, help="source channel (website, referral, …)")
    p.add_argument("--amount", type=_amount, default=Decimal(0))

    p = sub.add_parser("advance", help="move an opportunity forward one stage")
    p.add_argument("id")
    p.add_argument("--to", required=True, choices=[s.value for s in STAGE_ORDER[1:]])
    p.add_argument(
        "--fact",
        type=_fact,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fact the stage's exit criteria ask for (repeatable)",
    )
    p.add_argument("--amount", type=_amount)

    p = sub.add_parser("lose", help="mark an opportunity lost, with a reason")
    p.add_argument("id")
    p.add_argument("--reason", required=True, choices=[r.value for r in LossReason])
    p.add_argument("--note", default="")

    p = sub.add_parser("reopen", help="reopen a lost opportunity into the stage it left")
    p.add_argument("id")
    p.add_argument("--note", default="")

    for name, help_text in (("show", "one opportunity: state and stage timeline"),):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("id")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("list", help="opportunities by stage / owner / pipeline (Temporal visibility)")
    p.add_argument("--stage", choices=[s.value for s in STAGE_ORDER] + ["lost"])
    p.add_argument("--owner")
    p.add_argument("--pipeline")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "report",
        aliases=["metrics"],
        help="the sales report: cycle times per rep vs team, time per stage, funnel, win rate, forecast",
    )
    p.add_argument("--pipeline", help="one pipeline (default: all)")
    p.add_argument(
        "--from", dest="start", type=iso_datetime, help="period start (default: 1 year before --to)"
    )
    p.add_argument("--to", dest="end", type=iso_datetime, help="period end, exclusive (default: now)")
    p.add_argument("--as-of", type=iso_datetime, help="read only events up to this moment (default: --to)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--chart", type=Path, metavar="FILE.png", help="also draw the funnel and time per stage")

    discount = sub.add_parser("discount", help="request, approve or reject a discount").add_subparsers(
        dest="action", required=True
    )
    p = discount.add_parser("request", help="the owner asks for a discount (percent off the amount)")
    p.add_argument("id")
    p.add_argument("--pct", type=_amount, required=True, help="discount in percent, e.g. 12.5")
    p.add_argument("--comment", default="")
    for action in ("approve", "reject"):
        p = discount.add_parser(action, help=f"{action} the open discount request, as an approver")
        p.add_argument("id")
        p.add_argument("--approver", required=True, help="who decides (checked against the policy)")
        p.add_argument("--comment", default="")

    contract = sub.add_parser("contract", help="submit a contract for review, or sign it off").add_subparsers(
        dest="action", required=True
    )
    p = contract.add_parser("submit", help="submit the drafted contract; the clause checks run at once")
    p.add_argument("id")
    p.add_argument("--contract-id", required=True)
    p.add_argument("--total", type=_amount, required=True, help="contract total (quote less the discount)")
    p.add_argument("--discount", type=_amount, default=Decimal(0), help="discount in the contract, percent")
    p.add_argument("--payment-days", type=int, required=True, help="payment terms in days")
    p.add_argument("--liability-cap", type=_amount, help="liability cap (omit if the contract has none)")
    for action in ("sign", "reject"):
        p = contract.add_parser(action, help=f"legal: {action} the contract under review")
        p.add_argument("id")
        p.add_argument("--by", required=True, help="a person with the legal (or legal_lead) role")
        p.add_argument("--comment", default="")

    p = sub.add_parser("touch", help="log an activity with the customer (restarts the stage's idle clock)")
    p.add_argument("id")
    p.add_argument("--kind", required=True, help="call, visit, mail, …")
    p.add_argument("--by", required=True)
    p.add_argument("--note", default="")

    p = sub.add_parser("stalled", help="deals idle past their stage SLA, and escalations per rep and stage")
    p.add_argument("--as-of", type=iso_datetime, help="as of this moment (default: now)")
    p.add_argument("--json", action="store_true")

    approvals = sub.add_parser("approvals", help="discount requests waiting for a decision").add_subparsers(
        dest="action", required=True
    )
    p = approvals.add_parser("pending", help="open requests (from the event store)")
    p.add_argument("--approver", help="only those this person may decide now")
    p.add_argument("--json", action="store_true")

    after_sales_cli.add_parser(sub)
    brief_cli.add_parser(sub)
    export_cli.add_parser(sub)
    reconcile_cli.add_parser(sub)

    p = sub.add_parser("pipelines", help="the configured pipelines (DEALFLOW_PIPELINES to use your own file)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", help="simulate a sales team through real workflows and print the report")
    p.add_argument("--opportunities", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    return parser


def _print_state(state: OpportunityState) -> None:
    console.print(
        f"[bold]{state.opportunity_id}[/bold]  {state.status}  owner {state.owner}  pipeline {state.pipeline}"
        f"  amount {state.amount}  company {state.company}  (v{state.version})"
    )
    if state.lost:
        console.print(f"  lost in {state.lost.stage}: {state.lost.reason} {state.lost.note}".rstrip())
    if (req := state.discount_request) is not None:
        by = f" by {', '.join(req.decided_by)}" if req.decided_by else ""
        console.print(
            f"  discount {req.discount}% ({req.status}{by}); approved discount {state.approved_discount}%",
            highlight=False,
        )
    if (review := state.contract) is not None:
        fails = "; ".join(f"{f.check}: {f.detail}" for f in review.failures)
        console.print(
            f"  contract {review.contract.contract_id}: {review.status}"
            f"{' (escalated to the legal lead)' if review.escalated else ''}{' — ' + fails if fails else ''}",
            highlight=False,
        )
    for visit in state.timeline:
        end = f"{visit.exited_at:%Y-%m-%d %H:%M}" if visit.exited_at else "now"
        console.print(f"  {visit.stage:<15} {visit.entered_at:%Y-%m-%d %H:%M} → {end}")


async def _deal_command(args: argparse.Namespace, settings: Settings, catalog: PipelineCatalog) -> None:
    deals = DealClient(await temporal(settings), catalog, settings.task_queue)
    state: OpportunityState
    if args.command == "start":
        oid = args.id or f"opp-{uuid.uuid4().hex[:10]}"
        await deals.open(
            OpenOpportunity(
                opportunity_id=oid,
                pipeline=args.pipeline,
                owner=args.owner,
                company=args.company,
                contact_person=args.contact,
                source=args.source,
                amount=args.amount,
            )
        )
        console.print(f"started {oid}")
        return
    if args.command == "list":
        found = await deals.list(stage=args.stage, owner=args.owner, pipeline=args.pipeline)
        if args.json:
            print(json.dumps([d.__dict__ for d in found], indent=2))
            return
        table = Table("opportunity", "stage", "owner", "pipeline", "amount", "running")
        for d in found:
            table.add_row(
                d.opportunity_id,
                d.stage,
                d.owner,
                d.pipeline,
                f"{d.amount:,.0f}",
                "yes" if d.running else "no",
            )
        console.print(table)
        console.print(f"{len(found)} opportunities")
        return
    if args.command == "touch":
        _print_state(await deals.log_touch(args.id, LogTouch(kind=args.kind, by=args.by, note=args.note)))
        return
    if args.command == "discount":
        if args.action == "request":
            cmd_r = RequestDiscount(discount=args.pct, comment=args.comment)
            state = await deals.request_discount(args.id, cmd_r)
        else:
            decision = DecideDiscount(
                approver=args.approver, approve=args.action == "approve", comment=args.comment
            )
            state = await deals.decide_discount(args.id, decision)
        _print_state(state)
        return
    if args.command == "contract":
        if args.action == "submit":
            draft = Contract(
                contract_id=args.contract_id,
                total=args.total,
                discount=args.discount,
                payment_terms_days=args.payment_days,
                liability_cap=args.liability_cap,
            )
            state = await deals.submit_contract(args.id, SubmitContract(contract=draft))
        else:
            verdict = DecideContract(by=args.by, approve=args.action == "sign", comment=args.comment)
            state = await deals.decide_contract(args.id, verdict)
        _print_state(state)
        return
    if args.command == "advance":
        state = await deals.advance(
            args.id, AdvanceStage(to_stage=Stage(args.to), facts=dict(args.fact), amount=args.amount)
        )
    elif args.command == "lose":
        state = await deals.mark_lost(args.id, MarkLost(reason=LossReason(args.reason), note=args.note))
    elif args.command == "reopen":
        state = await deals.reopen(args.id, Reopen(note=args.note))
    else:
        state = await deals.show(args.id)
        if args.json:
            print(state.model_dump_json(indent=2))
            return
    _print_state(state)


async def _pending(args: argparse.Namespace, settings: Settings, catalog: PipelineCatalog) -> None:
    async with open_store(settings) as store:
        found = await pending_approvals(store, catalog, args.approver)
    if args.json:
        print(json.dumps([dataclasses.asdict(p) for p in found], indent=2, default=str))
        return
    table = Table(
        "opportunity", "owner", "discount", "amount", "level", "waiting since", "escalates at", "may decide"
    )
    for p in found:
        table.add_row(
            p.opportunity_id,
            p.owner,
            f"{p.discount}%",
            f"{p.amount:,.0f}",
            p.level,
            f"{p.waiting_since:%Y-%m-%d %H:%M}",
            f"{p.escalates_at:%Y-%m-%d %H:%M}",
            ", ".join(p.approvers),
        )
    console.print(table)
    console.print(f"{len(found)} pending")


async def _stalled(args: argparse.Namespace, settings: Settings, catalog: PipelineCatalog) -> None:
    as_of = args.as_of or datetime.now(UTC)
    async with open_store(settings) as store, store.pool.connection() as conn:
        found = await stalled_deals(conn, catalog, as_of)
        counts = await escalations(conn, Period(start=as_of - timedelta(days=365), end=as_of, as_of=as_of))
    if args.json:
        body = {
            "stalled": [dataclasses.asdict(d) for d in found],
            "escalations": [dataclasses.asdict(c) for c in counts],
        }
        print(json.dumps(body, indent=2, default=str))
        return
    table = Table(
        "opportunity",
        "owner",
        "pipeline",
        "stage",
        "idle days",
        "SLA days",
        "last activity",
        title=f"stalled as of {as_of:%Y-%m-%d %H:%M}",
    )
    for d in found:
        table.add_row(
            d.opportunity_id,
            d.owner,
            d.pipeline,
            d.stage,
            f"{d.idle_days:.1f}",
            str(d.sla_days),
            f"{d.last_activity_at:%Y-%m-%d}",
        )
    console.print(table)
    if counts:
        by_rep = Table("rep", "stage", "escalations", title="escalations to managers, last 365 days")
        for c in counts:
            by_rep.add_row(c.owner, c.stage, str(c.count))
        console.print(by_rep)


async def _metrics(args: argparse.Namespace, settings: Settings, catalog: PipelineCatalog) -> None:
    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=365)
    if start >= end:
        raise UsageError("--from must be before --to")
    if args.chart and (args.chart.suffix.lower() != ".png" or not args.chart.parent.is_dir()):
        raise UsageError(f"--chart needs a .png file in an existing directory, got {args.chart}")
    period = Period(start=start, end=end, as_of=args.as_of or end)
    async with open_store(settings) as store:
        await Projector(store).catch_up()
        async with store.pool.connection() as conn:
            report = await cycle_time_report(conn, period, args.pipeline)
            funnel = await pipeline_metrics(conn, catalog, period, args.pipeline)
            approvals = await approval_report(conn, period, args.pipeline)
    if args.json:
        body = {**report_json(report), **pipeline_json(funnel), "approvals": approvals_json(approvals)}
        print(json.dumps(body, indent=2, default=str))
    else:
        print_report(report, console)
        print_pipeline(funnel, console)
        print_approvals(approvals, console)
    if args.chart:
        from cli.chart import render_chart  # matplotlib loads only when asked for

        print(f"chart written to {render_chart(report, funnel, args.chart)}", file=sys.stderr)


def _pipelines(args: argparse.Namespace, catalog: PipelineCatalog) -> None:
    if args.json:
        print(json.dumps({k: p.model_dump(mode="json") for k, p in catalog.pipelines.items()}, indent=2))
        return
    for p in catalog.pipelines.values():
        table = Table("stage", "exit criteria", "win probability", "SLA (days)", title=f"{p.id}: {p.name}")
        for stage in STAGE_ORDER:
            c = p.stage(stage)
            table.add_row(
                stage.value, ", ".join(c.exit_criteria), f"{c.win_probability:.0%}", str(c.sla_days or "—")
            )
        console.print(table)


async def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(logging.WARNING)  # the CLI talks through its own output; logs only for trouble
    settings = Settings.from_env()
    try:
        catalog = load_catalog(settings.pipelines_file)
        if args.command == "demo":
            from demo.run import run_demo

            await run_demo(settings, catalog, console, opportunities=args.opportunities, seed=args.seed)
        elif args.command in ("report", "metrics"):
            await _metrics(args, settings, catalog)
        elif args.command == "stalled":
            await _stalled(args, settings, catalog)
        elif args.command == "approvals":
            await _pending(args, settings, catalog)
        elif args.command == "aftersales":
            await after_sales_cli.run(args, settings, catalog)
        elif args.command == "brief":
            await brief_cli.run(args, settings)
        elif args.command == "export":
            await export_cli.run(args, settings)
        elif args.command == "reconcile":
            return await reconcile_cli.run(args, settings)
        elif args.command == "pipelines":
            _pipelines(args, catalog)
        else:
            await _deal_command(args, settings, catalog)
    except DealRefused as err:
        console.print(f"[red]refused[/red] {escape(str(err))}", highlight=False)
        return 2
    except (UsageError, PipelineConfigError, ValidationError, DemoStuckError) as err:
        console.print(f"[red]error[/red]: {escape(str(err))}", highlight=False)
        return 2
    return 0


async def _main_until_sigterm() -> int:
    # SIGTERM cancels the command, so every context unwinds as on Ctrl-C: the worker stops, the
    # embedded servers are released and stopped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await main()
    except Exception:
        if task.cancelling():  # the SDK reports a cancelled update as its own error: it is the SIGTERM
            raise asyncio.CancelledError from None
        raise


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(_main_until_sigterm()))
    except (asyncio.CancelledError, KeyboardInterrupt):
        sys.exit(130)
