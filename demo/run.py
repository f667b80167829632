"""`make demo`: a seeded sales team's months of work through real workflows, then the report.

The simulation runs on Temporal's time-skipping test server (weeks pass in seconds, every event
stamped by `workflow.now()`), writing into an event store of its own: the database `dealflow_demo`
on the same PostgreSQL server (embedded unless DATABASE_URL is set), dropped and created afresh on
every run. The worker's store is never touched: no demo stream, read model row or reminder lands
there. The report is then computed from the stored events alone.
"""

import logging
import time
from datetime import date, timedelta
from typing import Any, LiteralString

from psycopg import AsyncConnection
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from cli.render import print_approvals, print_brief, print_report
from demo.driver import play
from demo.plan import TEAM, plan_team
from domain.pipeline import PipelineCatalog
from domain.sales_brief import period_bounds
from reports.approvals import approval_report
from reports.cycle_times import cycle_time_report
from reports.outcomes import outcomes
from reports.period import Period
from reports.projector import Projector
from reports.sales_brief import compile_brief
from reports.stalled import escalations
from runtime.binaries import find_binary
from runtime.databases import database_name, database_on
from runtime.embedded import endpoints
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.settings import Settings
from runtime.temporal_client import create_worker
from store.briefs import save_brief
from store.event_store import EventStore

DEMO_PREFIX = "demo-"
DEMO_DATABASE = "dealflow_demo"
_QUIET_RUNTIME = Runtime(
    telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR")))
)


async def run_demo(
    settings: Settings,
    catalog: PipelineCatalog,
    console: Console,
    *,
    opportunities: int,
    seed: int,
    database: str = DEMO_DATABASE,
) -> None:
    logging.getLogger("temporalio").setLevel(logging.ERROR)  # keep the screen for the story
    moves = plan_team(catalog, opportunities=opportunities, seed=seed, prefix=DEMO_PREFIX.rstrip("-"))
    console.print(
        f"[bold]dealflow demo[/bold]: {len(TEAM)} reps, {len(catalog.pipelines)} pipelines "
        f"({', '.join(catalog.pipelines)}), {opportunities} opportunities, "
        f"{len(moves)} planned moves (seed {seed})"
    )
    async with endpoints(settings, temporal=False) as ep:
        store = await EventStore.open(await database_on(ep.database_url, database, fresh=True))
        try:
            console.print(f"  events go to the database {database} of {_where(settings)}, created afresh")
            console.print("  starting Temporal's time-skipping server and a worker …")
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=find_binary("temporal-test-server"),
                data_converter=pydantic_data_converter,
                runtime=_QUIET_RUNTIME,  # the SDK core warns that the test server lacks newer features
            )
            await ensure_search_attributes(env.client)
            started = time.monotonic()
            async with env, create_worker(env.client, store, "dealflow-demo"):
                deals = DealClient(env.client, catalog, "dealflow-demo")
                with Progress(
                    TextColumn("  simulating"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("moves"),
                    TextColumn("[cyan]{task.fields[day]}"),
                    TimeElapsedColumn(),
                    console=console,
                ) as progress:
                    task = progress.add_task("moves", total=len(moves), day="")

                    def advance(done: int, now: object) -> None:
                        progress.update(task, advance=done, day=f"{now:%Y-%m-%d}")

                    sim_start = await play(moves, deals, env, advance)
                    sim_end = await env.get_current_time()
            elapsed = time.monotonic() - started
            days = (sim_end - sim_start) / timedelta(days=1)
            console.print(
                f"  {len(moves)} moves over {days:.0f} simulated days in {elapsed:.1f} s "
                f"({len(moves) / elapsed:.0f} moves/s)"
            )
            period = Period(start=sim_start, end=sim_end + timedelta(seconds=1), as_of=sim_end)
            await Projector(store).rebuild()  # the demo's streams were replaced: project from scratch
            async with store.pool.connection() as conn:
                result = await outcomes(conn, period)
                report = await cycle_time_report(conn, period)
                approvals = await approval_report(conn, period)
                failed_checks = await _count(
                    conn, period, "ContractChecked", "payload->'failures' <> '[]'::jsonb"
                )
                nags = await escalations(conn, period)
                reminders = await _count(conn, period, "StallReminded")
                after_sales = {
                    kind: await _count(conn, period, kind)
                    for kind in (
                        "AfterSalesStarted",
                        "RevisitDue",
                        "RevisitMissed",
                        "FeedbackRecorded",
                        "RenewalOpened",
                    )
                }
                week_start, week_end = period_bounds("week", None, sim_end)
                brief = await compile_brief(conn, "week", week_start, week_end)
                await save_brief(conn, brief)
        finally:
            await store.close()

    console.print()
    lost = ", ".join(f"{s} {n}" for s, n in sorted(result.lost_by_stage.items(), key=lambda kv: -kv[1]))
    console.print(
        f"[bold]Outcome[/bold]: {result.opened} opened, {result.won} won, "
        f"{sum(result.lost_by_stage.values())} lost ({lost}), {result.reopened} reopened after a loss, "
        f"{sum(result.open_by_stage.values())} still open"
    )
    print_report(report, console)
    print_approvals(approvals, console)
    console.print(f"Contract clause checks that failed (and were redrafted): {failed_checks}")
    worst = ", ".join(f"{e.owner} in {e.stage} ({e.count})" for e in nags[:3])  # the most escalated
    console.print(
        f"Follow-up timers: {reminders} reminders to owners, "
        f"{sum(e.count for e in nags)} escalations to managers" + (f"; most: {worst}" if worst else "")
    )
    console.print(
        f"After-sales: {after_sales['AfterSalesStarted']} customer relationships, "
        f"{after_sales['RevisitDue']} revisits due, {after_sales['FeedbackRecorded']} answered, "
        f"{after_sales['RevisitMissed']} missed so far, {after_sales['RenewalOpened']} renewal opened"
    )
    print_brief(brief, console)
    _where_next(console, settings, period, brief.start)


async def _count(
    conn: AsyncConnection[Any], period: Period, event_type: str, condition: LiteralString = "TRUE"
) -> int:
    """How many events of a type (meeting a fixed SQL condition) happened in the simulated period."""
    query: LiteralString = (
        "SELECT count(*) FROM events WHERE type = %s AND occurred_at >= %s AND occurred_at <= %s"
    )
    cur = await conn.execute(query + " AND " + condition, (event_type, period.start, period.as_of))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


def _where(settings: Settings) -> str:
    if settings.database_url:
        return f"the server of DATABASE_URL (not its database {database_name(settings.database_url)})"
    return f"the embedded PostgreSQL ({settings.data_dir / 'pgdata'})"


def _where_next(console: Console, settings: Settings, period: Period, week: date) -> None:
    console.print(
        "\n[bold]Where to look next[/bold]\n"
        "  • this report again, from the stored events (any period, pipeline or --as-of date):\n"
        f"      .venv/bin/python starter.py metrics --from {period.start:%Y-%m-%d}"
        f" --to {period.end + timedelta(days=1):%Y-%m-%d} [--pipeline software] [--as-of DATE] [--json]\n"
        f"  • the sales brief of that last week, or any other week or month:\n"
        f"      .venv/bin/python starter.py brief show --start {week}"
        "   (brief compile --period month --start …)\n"
        "  • run the worker for real (embedded Temporal dev server + PostgreSQL, kept in "
        f"{settings.data_dir}):  make worker\n"
        "    then the Temporal Web UI is at http://localhost:8233 and, in another terminal:\n"
        "      .venv/bin/python starter.py start --owner an.li --company Acme"
        " --contact 'Wang Li' --source web\n"
        "      .venv/bin/python starter.py list --stage identify\n"
        "  • every command: .venv/bin/python starter.py --help"
    )
