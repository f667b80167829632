"""The servers and configuration the application needs, each opened on first use and closed together.

A command that needs only PostgreSQL never touches Temporal (nor checks its address), and the
other way round; the pipeline file is read only by the commands that need the pipelines. Every
failure to reach or configure something becomes an `app.errors` error here, in one place.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from temporalio.client import Client

from app.deal_client import DealClient
from app.errors import BadInput, Unreachable
from app.faults import first_line, postgres_faults
from domain.pipeline import PipelineCatalog, PipelineConfigError, load_catalog
from reports.projector import Projector
from reports.projector_service import ProjectorLag, projector_lag
from runtime.databases import database_on
from runtime.embedded import DEV_SERVER_PORT, embedded_postgres
from runtime.settings import Settings
from runtime.temporal_client import connect
from runtime.temporal_config import TemporalConfigError, temporal_target
from store.event_store import EventStore

_POOL_SIZE = 4  # the projector's catch-up and a report's reads each hold one at a time
_CONNECT_TIMEOUT_S = 5


class Connections:
    def __init__(self, settings: Settings, stack: AsyncExitStack) -> None:
        self.settings = settings
        self._stack = stack
        self._catalog: PipelineCatalog | None = None
        self._temporal: Client | None = None
        self._store: EventStore | None = None
        self._lock = asyncio.Lock()  # two first uses at once must still open one pool
        self.postgres_where = "PostgreSQL"  # where the store is, without a password, once opened

    @property
    def catalog(self) -> PipelineCatalog:
        if self._catalog is None:
            self._catalog = _load_catalog(self.settings)
        return self._catalog

    async def temporal(self) -> Client:
        async with self._lock:
            if self._temporal is None:
                self._temporal = await _connect_temporal(self.settings)
            return self._temporal

    async def deals(self) -> DealClient:
        return DealClient(await self.temporal(), self.catalog, self.settings.task_queue)

    async def store(self) -> EventStore:
        async with self._lock:
            if self._store is None:
                url = self.settings.database_url
                if url is None:  # the embedded server: started (or reused) for as long as we run
                    url = await asyncio.to_thread(
                        self._stack.enter_context, embedded_postgres(self.settings.data_dir)
                    )
                with contextlib.suppress(psycopg.ProgrammingError):  # _open_store names a bad URL
                    self.postgres_where = _describe(conninfo_to_dict(url))
                self._store = await _open_store(url, self.settings.database)
                self._stack.push_async_callback(self._store.close)
            return self._store

    @asynccontextmanager
    async def read_models(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A connection to read the read models, caught up first with every event committed so far.

        The catch-up runs before the connection is taken: it needs a pool connection of its own.
        It runs whether or not a projector service (`dealflow projector`) runs: the service may
        trail by a batch, and a report must be exact. The two never apply a batch twice: each batch
        takes the projector's batch lock and re-reads the checkpoint under it.
        """
        store = await self.store()
        async with postgres_faults(lambda: self.postgres_where):
            await Projector(store).catch_up()
            async with store.pool.connection() as conn:
                yield conn

    async def projector_lag(self) -> ProjectorLag:
        """How far the read models trail the events, and which projector service leads (for a
        health check such as the HTTP API's `/readyz`): one read, no catch-up, no lock taken."""
        store = await self.store()
        async with postgres_faults(lambda: self.postgres_where), store.pool.connection() as conn:
            return await projector_lag(conn)

    @property
    def temporal_address(self) -> str:
        """Where Temporal is, for messages: never fails (a bad configuration fails on connecting)."""
        try:
            address = temporal_target(self.settings).address
        except TemporalConfigError:
            address = self.settings.temporal_address
        return address or f"localhost:{DEV_SERVER_PORT}"


def _load_catalog(settings: Settings) -> PipelineCatalog:
    where = f"DEALFLOW_PIPELINES={settings.pipelines_file}" if settings.pipelines_file else "pipelines"
    try:
        return load_catalog(settings.pipelines_file)
    except PipelineConfigError as err:
        raise BadInput(str(err)) from None
    except OSError as err:
        raise BadInput(f"{where}: cannot read it: {err.strerror or err}") from None
    except (AttributeError, TypeError, ValueError) as err:
        # A TOML file of the wrong shape (a table where a value belongs) can fail inside the
        # loader before its own checks name the problem; it is still the file's fault.
        raise BadInput(f"{where}: not a pipeline configuration ({err})") from None


async def _connect_temporal(settings: Settings) -> Client:
    """A client as the SDK's environment configuration says (runtime/temporal_config.py), or on
    the dev server `dealflow worker` runs when no address is configured anywhere."""
    try:
        target = temporal_target(settings)
    except TemporalConfigError as err:
        raise BadInput(str(err)) from None
    address = target.address or f"localhost:{DEV_SERVER_PORT}"
    try:
        return await connect(target, address=address)
    except ValueError as err:  # the SDK's own parse of the target
        raise BadInput(f"TEMPORAL_ADDRESS {address!r}: {err}") from None
    except RuntimeError as err:
        hint = "" if target.address else "Start it with `dealflow worker`, or set TEMPORAL_ADDRESS"
        detail = "connection refused" if "Connection refused" in str(err) else _first_line(err)
        raise Unreachable("Temporal", address, detail, hint) from None


async def _open_store(url: str, database: str | None) -> EventStore:
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        raise BadInput(f"DATABASE_URL is not a PostgreSQL connection string: {_first_line(err)}") from None
    where = _describe(params)
    # Every datetime read back is in UTC, whatever the server's own time zone.
    options = f"{params.get('options') or ''} -c TimeZone=UTC".strip()
    url = make_conninfo(url, options=options)
    try:  # one quick probe: the pool itself would retry for half a minute before giving up
        probe = await psycopg.AsyncConnection.connect(url, connect_timeout=_CONNECT_TIMEOUT_S)
        await probe.close()
    except psycopg.ProgrammingError as err:
        raise BadInput(f"DATABASE_URL: {_first_line(err)}") from None
    except psycopg.OperationalError as err:
        raise Unreachable("PostgreSQL", where, _first_line(err)) from None
    if database:  # DEALFLOW_DATABASE: a database of its own on that server
        try:
            url = await database_on(url, database)
        except psycopg.Error as err:
            raise BadInput(f"DEALFLOW_DATABASE={database}: {_first_line(err)}") from None
    return await EventStore.open(url, max_size=_POOL_SIZE)


def _describe(params: dict[str, Any]) -> str:
    """Where a connection string points, without its password."""
    host = params.get("host") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    return f"{host}{port}/{params.get('dbname') or params.get('user') or ''}"


_first_line = first_line
