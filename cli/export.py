"""`starter.py export`: the stage log as a process-mining event log (CSV or XES)."""

import argparse
import sys
from pathlib import Path

from cli.common import UsageError, iso_datetime, open_store
from reports.event_log import FORMATS, stage_moves, write_log
from runtime.settings import Settings


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "export", help="the stage log as an event log for process mining (pm4py, ProM, Disco): CSV or XES"
    )
    p.add_argument("out", type=Path, help="the file to write: FILE.csv or FILE.xes")
    p.add_argument("--format", choices=FORMATS, help="default: from the file's suffix")
    p.add_argument("--pipeline", help="one pipeline (default: all)")
    p.add_argument("--from", dest="start", type=iso_datetime, help="opportunities opened from this day")
    p.add_argument("--to", dest="end", type=iso_datetime, help="... and before this one")


async def run(args: argparse.Namespace, settings: Settings) -> None:
    fmt = args.format or args.out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"cannot tell the format of {args.out}: name it .csv or .xes, or pass --format")
    if not args.out.parent.is_dir():
        raise UsageError(f"no directory {args.out.parent} to write {args.out.name} in")
    if args.start and args.end and args.start >= args.end:
        raise UsageError("--from must be before --to")
    async with open_store(settings) as store, store.pool.connection() as conn:
        moves = stage_moves(conn, args.pipeline, args.start, args.end)
        cases, events = await write_log(
            moves, args.out, fmt, on_progress=lambda n: print(f"  {n:,} events", file=sys.stderr, flush=True)
        )
    print(f"wrote {events:,} events of {cases:,} opportunities to {args.out} ({fmt})", file=sys.stderr)
