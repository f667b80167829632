"""`dealflow worker | demo`: run the worker; play the seeded demo team and print its report."""

import logging
from typing import Annotated

import typer

from app.errors import BadInput
from cli.common import console, deferred, open_app
from runtime.logging_setup import configure_logging
from runtime.worker_service import serve

commands = typer.Typer()
PANEL = "Operations"


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow worker   (stop it with Ctrl-C)")
@deferred
async def worker() -> None:
    """Run the worker: the workflows and activities, on TEMPORAL_ADDRESS / DATABASE_URL, or on
    embedded servers under DEALFLOW_DATA_DIR (the Temporal Web UI: http://localhost:8233).

    A killed worker loses nothing: Temporal re-delivers its unfinished work. Started while
    Temporal or PostgreSQL is down, it waits for them (logging each attempt); it rides out
    outages while running."""
    configure_logging(logging.INFO)  # a long-running service: its log is its output
    async with open_app() as app:  # a bad pipeline file or address is a usage error, exit 2
        catalog = app.catalog
        try:
            await serve(app.settings, catalog)
        except ValueError as err:  # a malformed DATABASE_URL: waiting would not mend it
            raise BadInput(str(err)) from None


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
