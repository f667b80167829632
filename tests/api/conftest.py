"""The API against real servers, shared by the package: a Temporal dev server of its own (so the
worker on the task queue `dealflow` meets no other test's), a fresh schema on the embedded
PostgreSQL, a worker, the app in process (httpx over ASGI) and, for clients in other languages,
`dealflow serve` as a real process."""

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg.conninfo import make_conninfo
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from app.bootstrap import Dealflow
from app.identity import Identity
from runtime.settings import TASK_QUEUE, Settings
from runtime.temporal_client import create_worker, in_memory_dev_server
from store.event_store import EventStore

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The API's tests drive workflows: on the embedded PostgreSQL only (as tests/conftest.py does
    for the others), not again on DATABASE_URL's server."""
    here = Path(__file__).parent
    dropped = [
        item
        for item in items
        if here in item.path.parents
        and getattr(getattr(item, "callspec", None), "params", {}).get("database_server") == "external"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(scope="package")
async def api_temporal() -> AsyncIterator[WorkflowEnvironment]:
    async with await in_memory_dev_server() as env:
        yield env


@pytest.fixture(scope="package")
async def api_settings(
    database_server: str, api_temporal: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Settings]:
    schema = f"api_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
    yield Settings(
        temporal_address=api_temporal.client.service_client.config.target_host,
        temporal_namespace=api_temporal.client.namespace,
        database_url=make_conninfo(database_server, options=f"-c search_path={schema}"),
        data_dir=tmp_path_factory.mktemp("dealflow-data"),
    )
    async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="package")
async def api_store(api_settings: Settings, api_temporal: WorkflowEnvironment) -> AsyncIterator[EventStore]:
    """The event store, with the worker writing to it for as long as the package's tests run."""
    assert api_settings.database_url is not None
    store = await EventStore.open(api_settings.database_url)
    async with create_worker(api_temporal.client, store, TASK_QUEUE):
        yield store
    await store.close()


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    identity: Identity
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def dealflow(self) -> Dealflow:
        found: Dealflow = self.app.state.dealflow
        return found

    def auth(self, who: str) -> dict[str, str]:
        """The Authorization header of a person (a real token) or a service (`service:<name>`)."""
        if who not in self.tokens:
            self.tokens[who] = self.identity.mint_token(who)
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def add_service(self, name: str, scopes: list[str]) -> None:
        _, secret = await self.identity.create_api_key(name, scopes, "pytest")
        self.tokens[f"service:{name}"] = secret

    async def call(
        self, method: str, path: str, who: str | None, json: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return await self.client.request(method, path, json=json, headers=headers, **kw)


@pytest.fixture(scope="package")
async def api(api_settings: Settings, api_store: EventStore) -> AsyncIterator[Api]:
    app = create_app(api_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dealflow.test") as client:
            identity = await app.state.dealflow.identity()
            found = Api(app, client, identity)
            await found.add_service("crm-sync", ["deals:write"])
            await found.add_service("bi-export", ["reports:read"])
            yield found


def new_id(prefix: str = "api") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    url: str
    env: dict[str, str]


@pytest.fixture(scope="package")
async def served(api_settings: Settings, api: Api) -> AsyncIterator[Served]:
    """`dealflow serve` as a real process on a free port, on the package's servers."""
    assert api_settings.database_url is not None
    assert api_settings.temporal_address is not None
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": api_settings.temporal_address,
        "TEMPORAL_NAMESPACE": api_settings.temporal_namespace,
        "DATABASE_URL": api_settings.database_url,
        "DEALFLOW_DATA_DIR": str(api_settings.data_dir),
    }
    port = free_port()
    dealflow = str(Path(sys.executable).with_name("dealflow"))
    log = (api_settings.data_dir / "serve.log").open("wb")  # a pipe nobody reads would fill and block
    process = await asyncio.create_subprocess_exec(
        dealflow, "serve", "--port", str(port), env=env, cwd=ROOT, stdout=log, stderr=log
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client, asyncio.timeout(30):
            while True:
                if process.returncode is not None:
                    log_text = (api_settings.data_dir / "serve.log").read_text()
                    raise RuntimeError(f"dealflow serve exited {process.returncode}: {log_text[-2000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield Served(url, env)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await process.wait()
        log.close()
