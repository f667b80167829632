"""`starter.py brief …`: the weekly/monthly sales brief (schedule it, compile it, print it)."""

import argparse
from datetime import UTC, date, datetime

from app.brief_schedule import ensure_weekly_brief_schedule
from cli.common import UsageError, console, open_store, temporal
from cli.render import print_brief
from domain.sales_brief import period_bounds
from reports.projector import Projector
from reports.sales_brief import compile_brief
from runtime.settings import Settings
from store.briefs import save_brief, stored_briefs


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    actions = sub.add_parser("brief", help="the sales brief: schedule, compile, show").add_subparsers(
        dest="action", required=True
    )
    p = actions.add_parser("schedule", help="create (or update) the Temporal Schedule: every Monday")
    p.add_argument("--hour", type=int, default=7, help="hour of the day it runs (default 7)")
    p.add_argument("--time-zone", default="UTC", help="IANA time zone of that hour (default UTC)")
    for name, help_text in (
        ("compile", "compile a brief from the event store now, store it and print it"),
        ("show", "print a stored brief (default: the latest)"),
    ):
        p = actions.add_parser(name, help=help_text)
        p.add_argument("--period", choices=["week", "month"], default="week")
        p.add_argument(
            "--start",
            type=date.fromisoformat,
            help="first day (a Monday / the 1st); default: the last full period",
        )
        p.add_argument("--pipeline", help="one pipeline (default: all)")
        p.add_argument("--json", action="store_true")


async def run(args: argparse.Namespace, settings: Settings) -> None:
    if args.action == "schedule":
        handle = await ensure_weekly_brief_schedule(
            await temporal(settings), settings.task_queue, args.hour, args.time_zone
        )
        upcoming = (await handle.describe()).info.next_action_times[:3]
        console.print(
            f"schedule {handle.id}: next runs {', '.join(f'{t:%a %Y-%m-%d %H:%M %Z}' for t in upcoming)}"
        )
        return
    async with open_store(settings) as store, store.pool.connection() as conn:
        if args.action == "compile":
            await Projector(store).catch_up()  # the brief reads the read models
            try:
                start, end = period_bounds(args.period, args.start, datetime.now(UTC))
            except ValueError as err:
                raise UsageError(str(err)) from None
            brief = await compile_brief(conn, args.period, start, end, args.pipeline)
            await save_brief(conn, brief)
        else:
            found = await stored_briefs(conn, args.period, args.pipeline, args.start)
            if not found:
                raise UsageError(
                    "no brief stored for that period yet: `brief compile`, or wait for the schedule"
                )
            brief = found[0]
    if args.json:
        print(brief.model_dump_json(indent=2))
    else:
        print_brief(brief, console)
