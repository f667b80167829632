"""`dealflow reconcile`: check that the event store holds exactly what the workflows emitted."""

import re
from datetime import timedelta
from typing import Annotated

import typer

from cli import render_json
from cli.common import JsonFlag, OpenedFrom, OpenedTo, console, deferred, errors, open_app
from cli.render_deals import print_progress, print_reconciled

commands = typer.Typer()
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`30s`, `5m`, `2h`, `1d`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter(f"a duration like 30s, 5m, 2h or 1d, got {text!r}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@commands.command(
    rich_help_panel="Operations",
    epilog="Example: dealflow reconcile acme-01 acme-02 (or: --from 2026-01-01 --stuck-after 10m)",
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
    stuck_after: Annotated[
        timedelta,
        typer.Option(
            parser=parse_duration,
            metavar="DURATION",
            help="an append still in flight after this long is stuck (30s, 5m, 2h, 1d)",
        ),
    ] = "5m",  # type: ignore[assignment]  # Typer parses the default like any value
    as_json: JsonFlag = False,
) -> int:
    """Temporal history against the event store: none missing, none extra, none different; and
    nothing stuck: no append in flight for longer than --stuck-after, no failing workflow task.
    With --from, the opportunities opened then in the store or started then in Temporal.

    Exits with 1 when a stream differs or is stuck, so a nightly job can alert on it."""
    async with open_app() as app:
        checks = await app.reconciliation.run(
            ids or [],
            start=start,
            end=end,
            limit=limit,
            stuck_after=stuck_after,
            on_progress=lambda n, total: print_progress(n, total, "opportunities checked", errors),
        )
    if as_json:
        render_json.print_json(render_json.reconciled(checks))
    else:
        print_reconciled(checks, console)
    return 1 if any(not c.ok for c in checks) else 0
