"""`dealflow reconcile`: check that the event store holds exactly what the workflows emitted."""

from typing import Annotated

import typer

from cli import render_json
from cli.common import JsonFlag, OpenedFrom, OpenedTo, console, deferred, errors, open_app
from cli.render_deals import print_progress, print_reconciled

commands = typer.Typer()


@commands.command(
    rich_help_panel="Operations",
    epilog="Example: dealflow reconcile acme-01 acme-02 (or: --from 2026-01-01 --limit 500)",
)
@deferred
async def reconcile(
    ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ID]...", help="opportunity ids (or choose them with --from)"),
    ] = None,
    start: OpenedFrom = None,
    end: OpenedTo = None,
    limit: Annotated[int, typer.Option(help="at most this many opportunities")] = 1000,
    as_json: JsonFlag = False,
) -> int:
    """Temporal history against the event store: none missing, none extra, none different.

    Exits with 1 when a stream differs, so a nightly job can alert on it."""
    async with open_app() as app:
        checks = await app.reconciliation.run(
            ids or [],
            start=start,
            end=end,
            limit=limit,
            on_progress=lambda n, total: print_progress(n, total, "opportunities checked", errors),
        )
    if as_json:
        render_json.print_json(render_json.reconciled(checks))
    else:
        print_reconciled(checks, console)
    return 1 if any(not c.ok for c in checks) else 0
