"""`dealflow`: the command line. Typer parses, app/ does the work, cli/render*.py shows the result.

`run()` is the installed console script (and `python starter.py`); `main(argv)` is the same
command line as a coroutine returning the exit code, for callers already in an event loop (tests).
"""

import asyncio
import contextlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from app.errors import AppError, BadInput, NotFound, Refused, Unavailable, Unreachable
from cli import after_sales, brief, deals, identity, negotiation, operations, queries, reconcile, reports
from cli.analytics import analytics
from cli.common import collect_calls, errors
from cli.notifications import commands as notifications
from cli.projector import commands as projector
from cli.render_deals import print_error
from cli.serve import commands as serve
from runtime.logging_setup import configure_logging

OK, UNEXPECTED, USAGE, REFUSED, NOT_FOUND, UNREACHABLE = 0, 1, 2, 3, 4, 5
INTERRUPTED = 130  # SIGINT / SIGTERM, as shells report a signal

EPILOG = """\
| exit code | meaning |
|---|---|
| 0 | ok |
| 1 | unexpected error (`reconcile`: also a stream that differs) |
| 2 | usage or bad input: an option, a date, an address, the pipeline file |
| 3 | refused by a rule (nothing was recorded) |
| 4 | not found |
| 5 | a server (Temporal, PostgreSQL) unreachable, or no worker: retry (same `--request-id`) |
| 130 | interrupted (Ctrl-C, SIGTERM) |

Servers: `TEMPORAL_ADDRESS` (default: the dev server `dealflow worker` runs on localhost:7233),
`TEMPORAL_NAMESPACE`, `DATABASE_URL` (default: embedded PostgreSQL under `DEALFLOW_DATA_DIR`),
`DEALFLOW_DATABASE` (a database of its own on that server); `DEALFLOW_PIPELINES` names your own
pipeline file.
"""

app = typer.Typer(
    name="dealflow",
    help="dealflow: start deals, move them, look them up, report on them.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,  # errors are reported below, by kind, without a traceback
)
for module in (deals, queries, reports, reconcile, operations, identity):
    app.add_typer(module.commands)
app.add_typer(serve)
app.add_typer(projector)
app.add_typer(notifications)
app.add_typer(negotiation.discount, name="discount", rich_help_panel=deals.PANEL)
app.add_typer(negotiation.contract, name="contract", rich_help_panel=deals.PANEL)
app.add_typer(queries.approvals, name="approvals", rich_help_panel=queries.PANEL)
app.add_typer(after_sales.aftersales, name="aftersales", rich_help_panel="After-sales")
app.add_typer(brief.brief, name="brief", rich_help_panel=reports.PANEL)
app.add_typer(analytics, name="analytics", rich_help_panel=reports.PANEL)
app.add_typer(identity.apikey, name="apikey", rich_help_panel=identity.PANEL)


def _version() -> str:
    try:
        return version("dealflow")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        print(f"dealflow {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """dealflow: start deals, move them, look them up, report on them."""


_command = typer.main.get_command(app)


async def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; return its exit code."""
    configure_logging(logging.WARNING)  # the CLI talks through its own output; logs only for trouble
    calls = collect_calls()
    try:
        # Standalone mode keeps Typer's own help, --version and usage errors (printed, exit 2);
        # it ends every parse with SystemExit, also one that only recorded a command to run.
        _command.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="dealflow")
    except SystemExit as parsed:
        if parsed.code not in (None, 0) or not calls:
            return parsed.code if isinstance(parsed.code, int) else USAGE
    try:
        code = OK
        for call in calls:
            code = await call() or OK
        return code
    except AppError as err:
        return _report(err)
    except Exception as err:  # a bug: say so, with the traceback to report it with
        if (task := asyncio.current_task()) is not None and task.cancelling():
            # The SDK reports a cancelled call as its own error: it is the SIGTERM.
            raise asyncio.CancelledError from None
        print_error("unexpected error:", f"{type(err).__name__}: {err}", errors)
        traceback.print_exc(file=sys.stderr)
        return UNEXPECTED


def _report(err: AppError) -> int:
    """Print an application error on stderr and choose its exit code."""
    if isinstance(err, NotFound):
        print_error("not found:", err.message, errors)
        return NOT_FOUND
    if isinstance(err, Refused):
        print_error("refused", str(err), errors)
        return REFUSED
    if isinstance(err, Unavailable):  # a server or the worker: worth retrying, with the same request id
        print_error("unreachable:" if isinstance(err, Unreachable) else "unavailable:", str(err), errors)
        return UNREACHABLE
    if isinstance(err, BadInput):
        print_error("error:", str(err), errors)
        return USAGE
    print_error("error:", str(err), errors)
    return UNEXPECTED


async def _main_until_sigterm(argv: Sequence[str] | None) -> int:
    # SIGTERM cancels the command, so every context unwinds as on Ctrl-C: the worker stops, the
    # embedded servers are released and stopped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await main(argv)


def run(argv: Sequence[str] | None = None) -> None:
    """The console script: exit with the command's code (130 when interrupted)."""
    try:
        code = asyncio.run(_main_until_sigterm(argv))
    except (asyncio.CancelledError, KeyboardInterrupt):
        code = INTERRUPTED
    # Every context has closed by now (worker, connections, embedded servers). Skip the
    # interpreter's teardown: the Temporal SDK's Rust threads can race it and abort the process
    # (SIGABRT, "PyGILState_Release ... finalizing": temporalio/sdk-python#300), which would turn
    # any exit code into -6.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # e.g. `dealflow list | head` closed the pipe
            stream.flush()
    os._exit(code)
