"""The two kinds of workflow a command addresses (an opportunity, a relationship), and what to say
when one has ended or never existed: the update's NOT_FOUND, in the rule's words."""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from app.errors import NotFound, Refused
from app.temporal_calls import unavailable
from domain.after_sales import RelationshipState
from domain.opportunity import OpportunityState
from workflows.after_sales import AfterSalesWorkflow


@dataclass(frozen=True)
class WorkflowKind:
    noun: str
    state: type[BaseModel]  # what its updates and queries answer
    known_rule: str  # the id names nothing
    open_rule: str  # the workflow has ended
    ended: str
    nothing_more: str


OPPORTUNITY = WorkflowKind(
    "opportunity",
    OpportunityState,
    "known-opportunity",
    "opportunity-open",
    "no longer open",
    "it has reached after-sales; its customer relationship carries on",
)
RELATIONSHIP = WorkflowKind(
    "relationship",
    RelationshipState,
    "known-relationship",
    "relationship-open",
    "closed",
    "no more feedback, renewals or revisits",
)


async def not_running(client: Client, kind: WorkflowKind, workflow_id: str) -> Refused:
    try:
        status = (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return NotFound(kind.known_rule, f"no {kind.noun} {workflow_id!r}")
        raise unavailable(client, err, None) from None
    ended = status.name.lower().replace("_", " ") if status else "ended"
    reason = ""
    if kind is RELATIONSHIP:  # say why it was closed, when its final state still tells
        with contextlib.suppress(RPCError, WorkflowQueryFailedError, asyncio.TimeoutError):
            state = await client.get_workflow_handle_for(AfterSalesWorkflow.run, workflow_id).query(
                AfterSalesWorkflow.state, rpc_timeout=timedelta(seconds=5)
            )
            reason = f" ({state.closed})" if state.closed else ""
    message = f"{workflow_id} is {kind.ended}{reason} (workflow {ended}): {kind.nothing_more}"
    return Refused(kind.open_rule, message)
