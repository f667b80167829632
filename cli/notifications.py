"""`dealflow notifications`: the outbox — every reminder, escalation, approval request and revisit
task, and how its delivery went on each channel (the worker's dispatcher sends them)."""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from app.errors import BadInput
from app.faults import postgres_faults
from cli.common import JsonFlag, console, deferred, open_app
from cli.render_json import print_json
from store.outbox_delivery import OutboxEntry, outbox

commands = typer.Typer()
PANEL = "Operations"


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow notifications --failed   (dead-lettered deliveries, with their last error)",
)
@deferred
async def notifications(
    pending: Annotated[
        bool, typer.Option("--pending", help="only those not yet delivered on every channel")
    ] = False,
    failed: Annotated[bool, typer.Option("--failed", help="only those a channel gave up on")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="at most this many, newest first")] = 200,
    as_json: JsonFlag = False,
) -> None:
    """Show the notification outbox, newest first: to whom, about what, and each channel's delivery
    (attempts, the next one, the last error). Delivery is the worker's: e-mail (DEALFLOW_SMTP_HOST)
    and webhook (DEALFLOW_WEBHOOK_URL), as each person of the directory wants (`email`, `notify`)."""
    if pending and failed:
        raise BadInput("--pending and --failed exclude each other")
    status = "pending" if pending else "failed" if failed else None
    async with open_app() as app:
        connections = app.connections
        async with postgres_faults(lambda: connections.postgres_where):
            entries = await outbox(await connections.store(), status, limit)
    if as_json:
        print_json([entry_json(e) for e in entries])
        return
    if not entries:
        console.print(f"no {status or ''} notifications".replace("  ", " "))
        return
    for e in entries:
        n = e.notice
        console.print(
            f"{_at(n.created_at)} {e.status:<9} {n.kind:<18} to {n.recipient:<10} {n.stream_id}: {n.message}",
            markup=False,
            soft_wrap=True,
        )
        for d in e.deliveries:
            line = f"    {d.channel:<7} {d.status:<9} {d.address}  attempts {d.attempts}"
            if d.status == "pending":
                line += f", next {_at(d.next_attempt_at)}"
            if d.last_error:
                line += f"  last error: {d.last_error}"
            console.print(line, markup=False, soft_wrap=True)
        if e.routed_at is not None and not e.deliveries:
            console.print("    no channel reaches them: kept in the outbox only", markup=False)


def entry_json(e: OutboxEntry) -> dict[str, Any]:
    n = e.notice
    return {
        "key": n.key,
        "status": e.status,
        "kind": n.kind,
        "recipient": n.recipient,
        "stream_id": n.stream_id,
        "message": n.message,
        "created_at": _rfc3339(n.created_at),
        "routed_at": _rfc3339(e.routed_at),
        "deliveries": [
            {
                "channel": d.channel,
                "address": d.address,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": _rfc3339(d.next_attempt_at) if d.status == "pending" else None,
                "last_error": d.last_error,
                "finished_at": _rfc3339(d.finished_at),
            }
            for d in e.deliveries
        ],
    }


def _at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _rfc3339(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None
