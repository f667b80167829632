"""`dealflow worker | demo`: run the worker; play the seeded demo team and print its report."""

import logging
from typing import Annotated

import typer

from cli.common import console, deferred, open_app
from runtime.logging_setup import configure_logging
from runtime.settings import Settings
from runtime.temporal_client import serve

commands = typer.Typer()
PANEL = "Operations"


@commands.command(rich_help_panel=PANEL, epilog="Example: dealflow worker   (stop it with Ctrl-C)")
@deferred
async def worker() -> None:
    """Run the worker: the workflows and activities, on TEMPORAL_ADDRESS / DATABASE_URL, or on
    embedded servers under DEALFLOW_DATA_DIR (the Temporal Web UI: http://localhost:8233).

    A killed worker loses nothing: Temporal re-delivers its unfinished work."""
    configure_logging(logging.INFO)  # a long-running service: its log is its output
    await serve(Settings.from_env())


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
