"""`starter.py aftersales …`: a won deal's customer relationship (revisits, feedback, renewals)."""

import argparse
from decimal import Decimal

from rich.table import Table

from app.deal_client import DealClient
from cli.common import console, temporal
from domain.after_sales import CloseRelationship, OpenRenewal, RecordFeedback, RelationshipState
from domain.pipeline import PipelineCatalog
from runtime.settings import Settings


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    actions = sub.add_parser(
        "aftersales", help="a won deal's after-sales: revisits, feedback, renewals"
    ).add_subparsers(dest="action", required=True)
    p = actions.add_parser("show", help="the relationship: revisits with their feedback, renewals")
    p.add_argument("id", help="the won deal's opportunity id")
    p.add_argument("--json", action="store_true")
    p = actions.add_parser("feedback", help="record the customer's feedback on a revisit")
    p.add_argument("id", help="the won deal's opportunity id")
    p.add_argument("--score", type=int, required=True, help="1 (unhappy) to 5 (delighted)")
    p.add_argument("--comment", default="")
    p.add_argument("--by", required=True, help="who took the feedback")
    p.add_argument("--revisit", type=int, help="which revisit (default: the latest)")
    p = actions.add_parser("renew", help="open a renewal opportunity for the customer")
    p.add_argument("id", help="the won deal's opportunity id")
    p.add_argument("--amount", type=Decimal, required=True)
    p.add_argument("--by", required=True)
    p.add_argument("--note", default="")
    p = actions.add_parser("close", help="end the relationship: no more revisits")
    p.add_argument("id", help="the won deal's opportunity id")
    p.add_argument("--reason", required=True)
    p.add_argument("--by", required=True)


async def run(args: argparse.Namespace, settings: Settings, catalog: PipelineCatalog) -> None:
    deals = DealClient(await temporal(settings), catalog, settings.task_queue)
    if args.action == "feedback":
        cmd = RecordFeedback(score=args.score, comment=args.comment, by=args.by, revisit=args.revisit)
        state = await deals.record_feedback(args.id, cmd)
    elif args.action == "renew":
        state = await deals.open_renewal(args.id, OpenRenewal(amount=args.amount, by=args.by, note=args.note))
        console.print(f"opened renewal {state.renewals[-1]}")
    elif args.action == "close":
        state = await deals.close_relationship(args.id, CloseRelationship(reason=args.reason, by=args.by))
    else:
        state = await deals.relationship(args.id)
        if args.json:
            print(state.model_dump_json(indent=2))
            return
    print_relationship(state)


def print_relationship(state: RelationshipState) -> None:
    closed = f"  closed: {state.closed}" if state.closed else ""
    console.print(
        f"[bold]{state.deal_id}[/bold] after-sales  customer {state.customer} ({state.contact_person})"
        f"  owner {state.owner}  won {state.won_at:%Y-%m-%d}  (v{state.version}){closed}",
        highlight=False,
    )
    table = Table("revisit", "due", "status", "score", "comment")
    for r in state.revisits:
        table.add_row(str(r.number), f"{r.due_at:%Y-%m-%d}", r.status.value, str(r.score or ""), r.comment)
    console.print(table)
    if state.renewals:
        console.print(f"renewals: {', '.join(state.renewals)}")
