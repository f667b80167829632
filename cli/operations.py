"""`dealflow worker | demo`: run the worker; play the seeded demo team and print its report."""

import logging
from typing import Annotated

import typer

from app.errors import BadInput
from app.metrics import refresh_gauges
from cli.common import console, deferred, open_app
from runtime.logging_setup import configure_logging
from runtime.tracing import configure_tracing, stop_tracing
from runtime.worker_service import serve

commands = typer.Typer()
PANEL = "Operations"


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow worker --metrics-port 9464   (stop it with Ctrl-C or SIGTERM)",
)
@deferred
async def worker(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=0,
            max=65535,
            help="serve /metrics (the Temporal SDK's and dealflow's) and /readyz on this port"
            " (default: DEALFLOW_WORKER_METRICS_PORT; unset: none)",
        ),
    ] = None,
) -> None:
    """Run the worker: the workflows and activities, on TEMPORAL_ADDRESS / DATABASE_URL, or on
    embedded servers under DEALFLOW_DATA_DIR (the Temporal Web UI: http://localhost:8233).

    A killed worker loses nothing: Temporal re-delivers its unfinished work. Started while
    Temporal or PostgreSQL is down, it waits for them (logging each attempt); it rides out
    outages while running. SIGTERM stops it gracefully: it polls no more and lets the activities
    in flight finish (DEALFLOW_WORKER_SHUTDOWN_GRACE seconds at most, default 30)."""
    configure_logging(logging.INFO)  # a long-running service: its log is its output
    configure_tracing("worker")  # OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
    async with open_app() as app:  # a bad pipeline file or address is a usage error, exit 2
        catalog = app.catalog
        settings = app.settings
        if metrics_port is not None:
            settings = settings.model_copy(update={"worker_metrics_port": metrics_port})
        try:
            await serve(settings, catalog, gauges=refresh_gauges)
        except ValueError as err:  # a malformed DATABASE_URL, a bad TLS setting: waiting would not mend it
            raise BadInput(str(err)) from None
        finally:
            stop_tracing()


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow demo --opportunities 200 --seed 7")
@deferred
async def demo(
    opportunities: Annotated[int, typer.Option(min=1, help="how many opportunities the team works")] = 200,
    seed: Annotated[int, typer.Option(help="the plan's random seed")] = 7,
) -> None:
    """Simulate a sales team's months through real workflows (time-skipping Temporal) and print
    the report."""
    # the demo's planner and driver load only for the demo
    from cli.render_demo import DemoScreen, print_demo
    from demo.run import run_demo

    async with open_app() as app:
        with DemoScreen(console) as screen:
            result = await run_demo(
                app.settings,
                app.catalog,
                opportunities=opportunities,
                seed=seed,
                on_start=screen.on_start,
                on_moves=screen.on_moves,
            )
    print_demo(result, console)
