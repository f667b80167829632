"""dealflow's command line: start deals, move them, query them, report on them, run the demo.

Temporal: TEMPORAL_ADDRESS, or the embedded dev server that `python worker.py` keeps running.
PostgreSQL (metrics): DATABASE_URL, or the embedded server under DEALFLOW_DATA_DIR (.dealflow/).
Every read command takes --json. Refusals exit with status 2 and name the rule that was broken.
"""

import argparse
import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from temporalio.client import Client

from domain.commands import AdvanceStage, MarkLost, OpenOpportunity, Reopen
from domain.opportunity import OpportunityState
from domain.pipeline import PipelineCatalog, PipelineConfigError, load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from projections.cycle_times import Period, cycle_time_report
from projections.event_store import EventStore
from projections.report_text import print_report, report_json
from runtime.deal_client import DealClient, DealRefused
from runtime.embedded import DEV_SERVER_PORT, endpoints
from runtime.logging_setup import configure_logging
from runtime.settings import Settings
from runtime.temporal_client import connect

console = Console()


class UsageError(Exception):
    pass


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


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r} (e.g. 2026-03-31)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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

    p = sub.add_parser("metrics", help="cycle times per rep vs team and time per stage, from the event store")
    p.add_argument("--pipeline", help="one pipeline (default: all)")
    p.add_argument("--from", dest="start", type=_date, help="period start (default: 1 year before --to)")
    p.add_argument("--to", dest="end", type=_date, help="period end, exclusive (default: now)")
    p.add_argument("--as-of", type=_date, help="read only events up to this moment (default: --to)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("pipelines", help="the configured pipelines (DEALFLOW_PIPELINES to use your own file)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", help="simulate a sales team through real workflows and print the report")
    p.add_argument("--opportunities", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    return parser


async def _temporal(settings: Settings) -> Client:
    address = settings.temporal_address or f"localhost:{DEV_SERVER_PORT}"
    try:
        return await connect(address, settings.temporal_namespace)
    except RuntimeError as err:
        hint = "" if settings.temporal_address else " Start it with `make worker` (or set TEMPORAL_ADDRESS)."
        raise UsageError(f"cannot reach Temporal at {address}: {err}.{hint}") from None


def _print_state(state: OpportunityState) -> None:
    console.print(
        f"[bold]{state.opportunity_id}[/bold]  {state.status}  owner {state.owner}  pipeline {state.pipeline}"
        f"  amount {state.amount}  company {state.company}  (v{state.version})"
    )
    if state.lost:
        console.print(f"  lost in {state.lost.stage}: {state.lost.reason} {state.lost.note}".rstrip())
    for visit in state.timeline:
        end = f"{visit.exited_at:%Y-%m-%d %H:%M}" if visit.exited_at else "now"
        console.print(f"  {visit.stage:<15} {visit.entered_at:%Y-%m-%d %H:%M} → {end}")


async def _deal_command(args: argparse.Namespace, settings: Settings, catalog: PipelineCatalog) -> None:
    deals = DealClient(await _temporal(settings), catalog, settings.task_queue)
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


async def _metrics(args: argparse.Namespace, settings: Settings) -> None:
    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=365)
    if start >= end:
        raise UsageError("--from must be before --to")
    period = Period(start=start, end=end, as_of=args.as_of or end)
    async with endpoints(settings, temporal=False) as ep:
        store = await EventStore.open(ep.database_url, max_size=1)
        try:
            async with store.pool.connection() as conn:
                report = await cycle_time_report(conn, period, args.pipeline)
        finally:
            await store.close()
    if args.json:
        print(report_json(report))
    else:
        print_report(report, console)


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
        elif args.command == "metrics":
            await _metrics(args, settings)
        elif args.command == "pipelines":
            _pipelines(args, catalog)
        else:
            await _deal_command(args, settings, catalog)
    except DealRefused as err:
        console.print(f"[red]refused[/red] {escape(str(err))}", highlight=False)
        return 2
    except (UsageError, PipelineConfigError, ValidationError) as err:
        console.print(f"[red]error[/red]: {escape(str(err))}", highlight=False)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
