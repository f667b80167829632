"""Plays planned moves against real opportunity workflows in time order.

Between moves the driver advances the time-skipping Temporal server's clock to the move's time, so
each event's timestamp is the server's own `workflow.now()`: weeks pass in seconds, nothing is faked.
"""

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import groupby

from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from demo.plan import PlannedMove
from domain.after_sales import OpenRenewal, RecordFeedback
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    MarkLost,
    OpenOpportunity,
    Reopen,
    RequestDiscount,
    SubmitContract,
)

# A move is one update and an activity or two: seconds at worst. Fail loudly rather than hang.
MOVE_TIMEOUT_S = 60


class DemoStuckError(RuntimeError):
    pass


async def apply_move(deals: DealClient, move: PlannedMove) -> None:
    match move.command:
        case OpenOpportunity() as cmd:
            await deals.open(cmd)
        case AdvanceStage() as cmd:
            await deals.advance(move.opportunity_id, cmd)
        case MarkLost() as cmd:
            await deals.mark_lost(move.opportunity_id, cmd)
        case Reopen() as cmd:
            await deals.reopen(move.opportunity_id, cmd)
        case RequestDiscount() as cmd:
            await deals.request_discount(move.opportunity_id, cmd)
        case DecideDiscount() as cmd:
            await deals.decide_discount(move.opportunity_id, cmd)
        case SubmitContract() as cmd:
            await deals.submit_contract(move.opportunity_id, cmd)
        case DecideContract() as cmd:
            await deals.decide_contract(move.opportunity_id, cmd)
        case RecordFeedback() as cmd:
            await deals.record_feedback(move.opportunity_id, cmd)
        case OpenRenewal() as cmd:
            await deals.open_renewal(move.opportunity_id, cmd)


async def play(
    moves: Iterable[PlannedMove],
    deals: DealClient,
    env: WorkflowEnvironment,
    on_progress: Callable[[int, datetime], None] = lambda done, now: None,
) -> datetime:
    """Play every move at its planned time; return the simulation's start time."""
    start = await env.get_current_time()
    for day, group in groupby(moves, key=lambda m: m.day):
        due = start + timedelta(days=day)
        now = await env.get_current_time()
        if due > now:
            await env.sleep(due - now)
        batch = list(group)
        tasks = {asyncio.ensure_future(apply_move(deals, m)): m for m in batch}
        _, pending = await asyncio.wait(tasks, timeout=MOVE_TIMEOUT_S)
        if pending:
            for task in pending:
                task.cancel()
            stuck = ", ".join(f"{tasks[t].opportunity_id} {type(tasks[t].command).__name__}" for t in pending)
            raise DemoStuckError(
                f"no answer within {MOVE_TIMEOUT_S} s for: {stuck} (is the worker or PostgreSQL down?)"
            )
        for task in tasks:
            task.result()  # a refused move is a bug in the plan: let it show
        on_progress(len(batch), due)
    return start
