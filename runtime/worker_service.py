"""`dealflow worker` as a service: it starts while its servers are down and waits for them, and
never exits on an outage.

- Before it polls, each server is tried in turn (Temporal, then PostgreSQL) until it answers,
  with backoff (1 s doubling to 30 s), one JSON log line per failed attempt naming the server, its
  address (never a password) and the error's first line. A bad host in DATABASE_URL is such a line,
  repeated: DNS can be down too, and an operator fixing the variable restarts the worker anyway.
- Once running, an outage is ridden out where it happens: the SDK's pollers retry a Temporal that
  went away (tested: 90 s down, then back), activities that met a PostgreSQL that went away fail
  and are retried by Temporal with backoff, and the connection pool replaces broken connections
  and keeps trying to reconnect. Should the worker itself fail (a fatal poll error), it is built
  again after a backoff instead of the process exiting.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import PoolTimeout
from temporalio.client import Client
from temporalio.service import RPCError

from domain.pipeline import PipelineCatalog
from runtime.databases import database_on
from runtime.embedded import endpoints
from runtime.metrics_http import free_loopback_address
from runtime.outbox_dispatcher import dispatching
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.settings import Settings
from runtime.temporal_client import connect, create_worker, forwarding_runtime
from runtime.temporal_config import temporal_target
from runtime.worker_ops import Gauges, WorkerHealth, worker_http
from store.event_store import EventStore

T = TypeVar("T")
log = structlog.get_logger("dealflow.worker")

FIRST_WAIT_S, LONGEST_WAIT_S = 1.0, 30.0
_PROBE_TIMEOUT_S = 5
# What "the server is not there (yet)" looks like from each client library.
_OUTAGES = (OSError, RuntimeError, RPCError, psycopg.OperationalError, PoolTimeout, TimeoutError)


async def until_up(server: str, where: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """`attempt()` until it succeeds, logging each failure and waiting longer each time."""
    wait, tries = FIRST_WAIT_S, 0
    while True:
        tries += 1
        try:
            result = await attempt()
        except _OUTAGES as err:
            log.warning(
                f"waiting for {server}",
                server=server,
                at=where,
                attempt=tries,
                retry_in_s=wait,
                error=_line(err),
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_S)
            continue
        if tries > 1:
            log.info(f"{server} is up", server=server, at=where, attempts=tries)
        return result


def postgres_where(url: str) -> str:
    """Where a connection string points, without its password; a malformed one is a ValueError."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as err:
        raise ValueError(f"DATABASE_URL is not a PostgreSQL connection string: {_line(err)}") from None
    host = params.get("host") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    return f"{host}{port}/{params.get('dbname') or params.get('user') or ''}"


async def open_store(url: str, database: str | None) -> EventStore:
    """One quick probe (the pool alone would wait half a minute per try), then the store."""
    probe = await psycopg.AsyncConnection.connect(url, connect_timeout=_PROBE_TIMEOUT_S)
    await probe.close()
    if database:
        url = await database_on(url, database)
    return await EventStore.open(url)


async def serve(settings: Settings, catalog: PipelineCatalog, *, gauges: Gauges | None = None) -> None:
    """Run the worker until cancelled, on the configured servers or embedded ones (started or reused
    here, stopped when it stops). It logs "worker running" once it polls. With a metrics port, its
    /metrics (the SDK's and ours, `gauges` read afresh at each scrape) and /readyz answer from the
    start (runtime/worker_ops.py)."""
    target = temporal_target(settings)  # a bad configuration fails now (ValueError), never waits
    serving = settings.worker_metrics_port is not None
    runtime = forwarding_runtime(free_loopback_address() if serving else None)
    health = WorkerHealth()
    # The database of its own (DEALFLOW_DATABASE) is made once the server answers, in open_store.
    async with (
        worker_http(settings, health, gauges),
        endpoints(settings.model_copy(update={"database": None})) as ep,
    ):
        where = postgres_where(ep.database_url)
        url = make_conninfo(ep.database_url, options=_utc_options(ep.database_url))

        async def temporal() -> Client:
            client = await connect(target, runtime=runtime, address=ep.temporal_address)
            await ensure_search_attributes(client)
            return client

        health.client = client = await until_up("Temporal", ep.temporal_address, temporal)
        health.store = store = await until_up("PostgreSQL", where, lambda: open_store(url, settings.database))
        try:
            details: dict[str, Any] = {
                "temporal": ep.temporal_address,
                "namespace": target.namespace,
                "secured": target.secured,
                "web_ui": ep.web_ui,
                "postgres": where,
            }
            async with dispatching(store, catalog.people, settings.notify, settings.data_dir):
                await _run_forever(client, store, settings, catalog, details, health)
        finally:
            await store.close()


async def _run_forever(
    client: Client,
    store: EventStore,
    settings: Settings,
    catalog: PipelineCatalog,
    details: dict[str, Any],
    health: WorkerHealth,
) -> None:
    wait = FIRST_WAIT_S
    grace = timedelta(seconds=settings.worker_shutdown_grace_s)
    while True:
        worker = create_worker(client, store, settings.task_queue, catalog=catalog, shutdown_grace=grace)
        running = asyncio.create_task(worker.run())
        await asyncio.sleep(0)
        health.polling = True
        log.info("worker running", task_queue=settings.task_queue, data_dir=str(settings.data_dir), **details)
        try:
            await asyncio.wait({running})  # cancelling us does not cancel it: we stop it below
            await running
        except asyncio.CancelledError:
            # SIGTERM, Ctrl-C: poll no more, let the activities in flight finish (up to the grace),
            # then cancel the rest; Temporal gives unfinished work to another worker.
            health.polling = False
            log.info("worker stopping", activities_grace_s=settings.worker_shutdown_grace_s)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            log.info("worker stopped")
            raise
        except Exception as err:  # a fatal worker error: build it again rather than exit
            health.polling = False
            log.error("worker failed; starting it again", error=_line(err), retry_in_s=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_S)


def _utc_options(url: str) -> str:
    # Every datetime read back is in UTC, whatever the server's own time zone.
    return f"{conninfo_to_dict(url).get('options') or ''} -c TimeZone=UTC".strip()


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
