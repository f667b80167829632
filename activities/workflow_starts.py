"""Activities that start other workflows: a won deal's after-sales relationship, a renewal deal.

They are started as workflows of their own, not children: a relationship outlives the deal that
won it by years, and a renewal is a deal in its own right. Starting is idempotent: a retried
activity finds the workflow already running under its id and leaves it be.
"""

import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.after_sales import relationship_id
from workflows.messages import START_AFTER_SALES, START_RENEWAL, StartAfterSales, StartOpportunity

log = structlog.get_logger(__name__)


class WorkflowStartActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def _start(self, workflow: str, arg: object, workflow_id: str) -> bool:
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
            log.info("workflow already started", workflow_id=workflow_id)
            return False
        log.info("workflow started", workflow=workflow, workflow_id=workflow_id)
        return True

    @activity.defn(name=START_AFTER_SALES)
    async def start_after_sales(self, start: StartAfterSales) -> bool:
        """Start the won deal's relationship; False if it runs already (a retry)."""
        return await self._start("AfterSalesWorkflow", start, relationship_id(start.deal.deal_id))

    @activity.defn(name=START_RENEWAL)
    async def start_renewal(self, start: StartOpportunity) -> bool:
        """Start the renewal's opportunity workflow; False if it runs already (a retry)."""
        return await self._start("OpportunityWorkflow", start, start.command.opportunity_id)
