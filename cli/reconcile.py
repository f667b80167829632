"""`starter.py reconcile`: check that the event store holds exactly what the workflows emitted."""

import argparse
import dataclasses
import json
import sys

from rich.markup import escape
from rich.table import Table

from app.reconcile import StreamCheck, reconcile
from cli.common import UsageError, console, iso_datetime, open_store, temporal
from runtime.settings import Settings


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "reconcile",
        help="Temporal history vs event store: none missing, none extra (exit 1 if they differ)",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="opportunity ids (or choose them with --from/--to)")
    p.add_argument("--from", dest="start", type=iso_datetime, help="opportunities opened from this day")
    p.add_argument("--to", dest="end", type=iso_datetime, help="... and before this one (default: now)")
    p.add_argument("--limit", type=int, default=1000, help="at most this many opportunities (default 1000)")
    p.add_argument("--json", action="store_true")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.ids and args.start is None:
        raise UsageError("name the opportunities to check, or choose them with --from [--to]")
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    client = await temporal(settings)
    async with open_store(settings) as store:
        ids = list(args.ids)
        if args.start is not None:
            async with store.pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT stream_id FROM events WHERE type = 'OpportunityOpened' AND occurred_at >= %s"
                    " AND (%s::timestamptz IS NULL OR occurred_at < %s) ORDER BY occurred_at LIMIT %s",
                    (args.start, args.end, args.end, args.limit),
                )
                ids += [str(row[0]) for row in await cur.fetchall()]
        checks: list[StreamCheck] = []
        for n, oid in enumerate(ids, start=1):
            checks += await reconcile(client, store, [oid])
            if n % 100 == 0:
                print(f"  {n:,} of {len(ids):,} opportunities checked", file=sys.stderr, flush=True)
    bad = [c for c in checks if not c.ok]
    if args.json:
        body = [{**dataclasses.asdict(c), "ok": c.ok} for c in checks]
        print(json.dumps(body, indent=2))
    else:
        _print(checks, bad)
    return 1 if bad else 0


def _print(checks: list[StreamCheck], bad: list[StreamCheck]) -> None:
    table = Table("stream", "runs", "emitted", "stored", "in flight", "missing", "extra", "differing", "")
    for c in bad or checks[:20]:
        table.add_row(
            c.stream,
            str(c.runs),
            str(c.emitted),
            str(c.stored),
            str(c.in_flight),
            str(len(c.missing)),
            str(len(c.extra)),
            str(len(c.differing)),
            "[green]ok[/green]" if c.ok else f"[red]{escape(c.problem or 'differs')}[/red]",
        )
    console.print(table)
    for c in bad:
        for kind, items in (("missing", c.missing), ("extra", c.extra), ("differing", c.differing)):
            for item in items:
                console.print(f"  {c.stream}: {kind} {escape(item)}", highlight=False)
    events = sum(c.stored for c in checks)
    verdict = "[green]all match[/green]" if not bad else f"[red]{len(bad)} differ[/red]"
    console.print(f"{len(checks)} streams, {events:,} stored events: {verdict}")
