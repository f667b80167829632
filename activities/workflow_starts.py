"""Activities that start other workflows: a won deal's after-sales relationship, a renewal deal.

They are started as workflows of their own, not children: a relationship outlives the deal that
won it by years, and a renewal is a deal in its own right. Starting is idempotent: a retried
activity finds the workflow already started under its id and leaves it be, but only once it has
checked that the workflow there is the one it meant to start (same type, same input: the same won
deal, the same renewal lead). Anything else holding the id is refused for good, loudly: a customer
must never be told "opened" about somebody else's workflow.

A renewal's start returns once the renewal's own worker has opened it (the worker resolves its
pipeline), so the relationship records a renewal only when there is one.
"""

from typing import Any

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.after_sales import relationship_id
from workflows.messages import START_AFTER_SALES, START_RENEWAL, StartAfterSales, StartOpportunity

log = structlog.get_logger(__name__)

ID_TAKEN = "WorkflowIdTaken"


class WorkflowStartActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def _start(self, workflow: str, arg: BaseModel, workflow_id: str, same: Any) -> bool:
        """Start it; False if ours was there already (a retry). `same(existing input)` says whether
        the workflow holding the id is the one meant."""
        try:
            await self._client.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            await self._check_ours(workflow, type(arg), workflow_id, same)
            log.info("workflow already started", workflow_id=workflow_id)
            return False
        log.info("workflow started", workflow=workflow, workflow_id=workflow_id)
        return True

    async def _check_ours(
        self, workflow: str, arg_type: type[BaseModel], workflow_id: str, same: Any
    ) -> None:
        handle = self._client.get_workflow_handle(workflow_id)
        description = await handle.describe()  # an RPC failure here is retried
        if description.workflow_type != workflow:
            raise _taken(workflow_id, f"a {description.workflow_type} workflow, not {workflow}")
        async for first in handle.fetch_history_events(page_size=1):  # the run's start: its input
            payloads = first.workflow_execution_started_event_attributes.input.payloads
            try:
                [existing] = await self._client.data_converter.decode(payloads, [arg_type])
            except Exception as err:  # any input we cannot read is not ours
                raise _taken(workflow_id, f"a {workflow} whose input is not ours ({err})") from None
            if not same(existing):
                raise _taken(workflow_id, f"a {workflow} started for something else")
            return
        raise _taken(workflow_id, "a workflow without a history")

    @activity.defn(name=START_AFTER_SALES)
    async def start_after_sales(self, start: StartAfterSales) -> bool:
        """Start the won deal's relationship; False if it runs already (a retry)."""
        return await self._start(
            "AfterSalesWorkflow",
            start,
            relationship_id(start.deal.deal_id),
            lambda existing: existing.deal == start.deal,
        )

    @activity.defn(name=START_RENEWAL)
    async def start_renewal(self, start: StartOpportunity) -> bool:
        """Start the renewal's opportunity workflow and wait until its worker has opened it; False if
        it was started already (a retry). Refused for good if the worker refuses the lead."""
        oid = start.command.opportunity_id
        fresh = await self._start(
            "OpportunityWorkflow", start, oid, lambda existing: existing.command == start.command
        )
        handle = self._client.get_workflow_handle(oid)
        try:
            await handle.execute_update("opened")
        except WorkflowUpdateFailedError as err:
            raise _refused(oid, err.cause) from None
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            try:  # it has ended already: its final state (or why it was refused) answers
                await handle.query("state")
            except WorkflowQueryFailedError as failed:
                raise _refused(oid, failed) from None
        return fresh


def _taken(workflow_id: str, held_by: str) -> ApplicationError:
    log.error("workflow id taken", workflow_id=workflow_id, held_by=held_by)
    return ApplicationError(f"{workflow_id} is held by {held_by}", type=ID_TAKEN, non_retryable=True)


def _refused(workflow_id: str, cause: BaseException) -> ApplicationError:
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    return ApplicationError(f"{workflow_id} was not opened: {message}", type="NotOpened", non_retryable=True)
