"""`make demo`: a seeded sales team's months of work through real workflows, then the report.

The simulation runs on Temporal's time-skipping test server (weeks pass in seconds, every event
stamped by `workflow.now()`), writing into an event store of its own: the database `dealflow_demo`
on the same PostgreSQL server (embedded unless DATABASE_URL is set), dropped and created afresh on
every run. The worker's store is never touched: no demo stream, read model row or reminder lands
there. The report is then computed from the stored events alone, by the same application layer
that `dealflow report` uses; the command line prints it (cli/render_demo.py).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from app.bootstrap import open_dealflow
from app.deal_client import DealClient
from app.reports import SalesReport
from demo.driver import play
from demo.plan import TEAM, plan_team
from domain.pipeline import PipelineCatalog
from domain.sales_brief import SalesBrief, period_bounds
from reports.outcomes import Outcomes
from reports.period import Period
from reports.period_summary import PeriodSummary
from reports.stalled import Escalations
from runtime.binaries import find_binary
from runtime.databases import database_name, database_on
from runtime.embedded import endpoints
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.settings import Settings
from runtime.temporal_client import create_worker

DEMO_PREFIX = "demo"
DEMO_DATABASE = "dealflow_demo"
TASK_QUEUE = "dealflow-demo"
_QUIET_RUNTIME = Runtime(
    telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR")))
)


@dataclass(frozen=True)
class DemoPlan:
    reps: int
    pipelines: tuple[str, ...]
    opportunities: int
    moves: int
    seed: int
    database: str
    server: str  # where that database lives, for people


@dataclass(frozen=True)
class DemoResult:
    plan: DemoPlan
    seconds: float
    simulated_days: float
    period: Period
    outcome: Outcomes
    report: SalesReport
    activity: PeriodSummary
    escalations: list[Escalations]
    brief: SalesBrief  # the last simulated week's
    currency: str


# What the caller shows while the team works: (the plan) once, then (moves done, simulated now).
OnStart = Callable[[DemoPlan], None]
OnMoves = Callable[[int, datetime], None]


async def run_demo(
    settings: Settings,
    catalog: PipelineCatalog,
    *,
    opportunities: int,
    seed: int,
    database: str = DEMO_DATABASE,
    on_start: OnStart = lambda plan: None,
    on_moves: OnMoves = lambda done, now: None,
) -> DemoResult:
    logging.getLogger("temporalio").setLevel(logging.ERROR)  # keep the screen for the story
    moves = plan_team(catalog, opportunities=opportunities, seed=seed, prefix=DEMO_PREFIX)
    plan = DemoPlan(
        len(TEAM), tuple(catalog.pipelines), opportunities, len(moves), seed, database, _where(settings)
    )
    on_start(plan)
    async with endpoints(settings, temporal=False) as ep:
        demo_url = await database_on(ep.database_url, database, fresh=True)
        async with open_dealflow(settings.model_copy(update={"database_url": demo_url})) as app:
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=find_binary("temporal-test-server"),
                data_converter=pydantic_data_converter,
                runtime=_QUIET_RUNTIME,  # the SDK core warns that the test server lacks newer features
            )
            await ensure_search_attributes(env.client)
            started = time.monotonic()
            async with env, create_worker(env.client, await app.connections.store(), TASK_QUEUE):
                sim_start = await play(moves, DealClient(env.client, catalog, TASK_QUEUE), env, on_moves)
                sim_end = await env.get_current_time()
            seconds = time.monotonic() - started
            period = Period(start=sim_start, end=sim_end + timedelta(seconds=1), as_of=sim_end)
            activity, escalations = await app.reports.engine_activity(period)
            return DemoResult(
                plan=plan,
                seconds=seconds,
                simulated_days=(sim_end - sim_start) / timedelta(days=1),
                period=period,
                outcome=await app.reports.outcomes(period),
                report=await app.reports.sales_report(period),
                activity=activity,
                escalations=escalations,
                brief=await app.reports.compile_brief("week", period_bounds("week", None, sim_end)[0]),
                currency=catalog.currency(),
            )


def _where(settings: Settings) -> str:
    if settings.database_url:
        return f"the server of DATABASE_URL (beside its database {database_name(settings.database_url)})"
    return f"the embedded PostgreSQL in {settings.data_dir / 'pgdata'}"
