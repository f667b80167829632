"""A worker and client of a test's own choosing: the worker's catalog and the caller's can differ
(a caller with a copied, generous pipeline file; a worker that lacks a pipeline), which conftest's
`deals` fixture, one catalog for both, cannot show. Same clean-up as that fixture."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.worker_activities import engine_activities
from app.errors import Refused
from domain.commands import OpenOpportunity
from domain.pipeline import PipelineCatalog, load_catalog
from store.event_store import EventStore
from tests.conftest import TrackingDealClient
from tests.factories import end_relationship
from workflows.after_sales import AfterSalesWorkflow
from workflows.opportunity import OpportunityWorkflow
from workflows.sales_brief import SalesBriefWorkflow


class OpeningDealClient(TrackingDealClient):
    """Opens a deal the way the client side is asked to: start the workflow, then wait (the
    `opened` update) until the worker has resolved the pipeline and opened the lead."""

    task_queue = ""  # the worker's, for tests that start workflows of their own beside it

    async def open(self, cmd: OpenOpportunity, **kwargs: Any) -> WorkflowHandle[OpportunityWorkflow, Any]:
        handle = await super().open(cmd, **kwargs)
        try:
            await handle.execute_update(OpportunityWorkflow.opened)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "RuleViolation":
                raise Refused(str(cause.details[0]) if cause.details else "rule", cause.message) from None
            raise
        return handle


def engine_worker(
    client: Client, store: EventStore, task_queue: str, catalog: PipelineCatalog | None = None
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OpportunityWorkflow, AfterSalesWorkflow, SalesBriefWorkflow],
        activities=engine_activities(client, store, catalog or load_catalog()),
        max_concurrent_activities=64,
    )


@contextlib.asynccontextmanager
async def engine_deals(
    env: WorkflowEnvironment,
    store: EventStore,
    *,
    worker_catalog: PipelineCatalog | None = None,
    client_catalog: PipelineCatalog | None = None,
) -> AsyncIterator[OpeningDealClient]:
    """A worker on a task queue of its own (with `worker_catalog` as its pipelines) and a client
    (with `client_catalog` as its own) to drive it; every workflow it started ends with the test."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    deals = OpeningDealClient(env.client, client_catalog or load_catalog(), task_queue)
    deals.task_queue = task_queue
    async with engine_worker(env.client, store, task_queue, worker_catalog):
        yield deals
        for oid in deals.started:
            await end_relationship(deals, env.client, oid, by="pytest")
    for oid in deals.started:
        with contextlib.suppress(RPCError):
            await env.client.get_workflow_handle(oid).terminate("test finished")
