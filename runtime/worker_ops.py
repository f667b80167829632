"""What an orchestrator and a scraper ask a running worker (DEALFLOW_WORKER_METRICS_PORT):
`/readyz` — it polls its task queue, Temporal answers, PostgreSQL answers (503 naming the ones
that do not, also while it is still waiting for them at start) — and `/metrics`, the SDK's and the
application's (runtime/metrics_http.py)."""

import asyncio
import contextlib
import errno
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client

from runtime.metrics_http import serve_http
from runtime.settings import Settings
from store.event_store import EventStore

CHECK_TIMEOUT_S = 3.0
Gauges = Callable[[EventStore], Awaitable[None]]


@dataclass
class WorkerHealth:
    """What the worker service has reached so far; it fills this in as it goes."""

    client: Client | None = None
    store: EventStore | None = None
    polling: bool = False

    async def ready(self) -> tuple[bool, dict[str, object]]:
        checks: dict[str, object] = {
            "worker": {"ok": self.polling} if self.polling else {"ok": False, "error": "not polling"},
            "Temporal": await self._check(self.client is not None, self._temporal),
            "PostgreSQL": await self._check(self.store is not None, self._postgres),
        }
        return all(c["ok"] for c in checks.values() if isinstance(c, dict)), checks

    @staticmethod
    async def _check(reached: bool, probe: Callable[[], Awaitable[None]]) -> dict[str, object]:
        if not reached:
            return {"ok": False, "error": "not reached yet (the worker is waiting for it)"}
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await probe()
        except Exception as err:  # any failure to answer is "not ready", named
            return {"ok": False, "error": str(err).strip().splitlines()[0] if str(err).strip() else repr(err)}
        return {"ok": True}

    async def _temporal(self) -> None:
        assert self.client is not None
        await self.client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT_S))

    async def _postgres(self) -> None:
        assert self.store is not None
        async with self.store.pool.connection(timeout=CHECK_TIMEOUT_S) as conn:
            await conn.execute("SELECT 1")


@contextlib.asynccontextmanager
async def worker_http(settings: Settings, health: WorkerHealth, gauges: Gauges | None) -> AsyncIterator[None]:
    """The worker's /metrics and /readyz on its metrics port, if it has one, for the block's time.
    A port it cannot listen on is a ValueError (a usage error): waiting would not free it."""
    if settings.worker_metrics_port is None:
        yield
        return

    async def refresh() -> None:
        if gauges is not None and health.store is not None:
            await gauges(health.store)

    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    try:
        serving = serve_http(host, port, refresh, health.ready)
        await serving.__aenter__()
    except OSError as err:
        why = "the port is in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err))
        raise ValueError(f"DEALFLOW_WORKER_METRICS_PORT: cannot listen on {host}:{port}: {why}") from None
    try:
        yield
    finally:
        await serving.__aexit__(None, None, None)
