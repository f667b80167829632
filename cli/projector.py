"""`dealflow projector`: keep the read models caught up as a service, or tell how far they trail."""

import json
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from app.faults import postgres_faults
from cli.common import JsonFlag, console, deferred, open_app
from reports.projector import Projector
from reports.projector_service import POLL_S, ProjectorLag, ProjectorService, projector_lag
from runtime.logging_setup import configure_logging

commands = typer.Typer()
PANEL = "Operations"


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow projector   (several may run: one leads; stop it with Ctrl-C)",
)
@deferred
async def projector(
    status: Annotated[
        bool, typer.Option("--status", help="print how far the read models trail, and exit")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="catch up once and exit")] = False,
    poll: Annotated[
        float,
        typer.Option(min=0.1, metavar="SECONDS", help="catch up this often even without a notification"),
    ] = POLL_S,
    as_json: JsonFlag = False,
) -> None:
    """Keep the read models (what reports read) caught up with the event store, woken by each append.

    Run several for availability: exactly one leads (a PostgreSQL advisory lock), the others stand
    by and one of them takes over within a second or two of the leader's end. Without a projector
    running, reports are still exact: each read catches the read models up first."""
    async with open_app() as app:
        connections = app.connections
        store = await connections.store()
        async with postgres_faults(lambda: connections.postgres_where):
            if status or once:
                projected = (await Projector(store).catch_up()).events if once else None
                async with store.pool.connection() as conn:
                    lag = await projector_lag(conn)
                if as_json:
                    console.print_json(json.dumps(lag_json(lag) | ({"projected": projected} if once else {})))
                    return
                if projected is not None:
                    console.print(f"projected {projected:,} events")
                print_lag(lag)
                return
            configure_logging(logging.INFO)  # a long-running service: its log is its output
            await ProjectorService(store, poll_s=poll).run()


def lag_json(lag: ProjectorLag) -> dict[str, Any]:
    return {
        "checkpoint": lag.checkpoint,
        "head": lag.head,
        "events_behind": lag.events,
        "seconds_behind": round(lag.seconds, 3),
        "leader": lag.leader,
        "leader_since": _rfc3339(lag.leader_since),
    }


def print_lag(lag: ProjectorLag) -> None:
    if lag.leader:
        console.print(f"leader: {lag.leader} (since {_rfc3339(lag.leader_since)})")
    else:
        console.print("leader: none (no projector service runs; each report catches up first)")
    console.print(f"checkpoint {lag.checkpoint:,} of {lag.head:,}")
    behind = "caught up" if lag.caught_up else f"{lag.events:,} events behind, the oldest {lag.seconds:.1f} s"
    console.print(behind)


def _rfc3339(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None
