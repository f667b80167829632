"""Metrics where one scraper finds them all: the application's (prometheus_client's registry) and
the Temporal SDK's, whose core serves them on an address of its own (the runtime's Prometheus
exporter, runtime/temporal_client.forwarding_runtime, on a loopback port): `exposition()` reads
that page and appends it to ours, so `/metrics` (the API's, the worker's) has both.

`serve_http` is the worker's small HTTP endpoint (DEALFLOW_WORKER_METRICS_PORT): `/metrics`,
`/readyz` (200 while it polls Temporal and reaches PostgreSQL, else 503 naming what is missing)
and `/healthz`. A plain asyncio server: a few lines for a few GETs, no signal handling of its own
to fight the worker's."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import structlog
from prometheus_client import REGISTRY, generate_latest

from runtime.temporal_client import sdk_metrics_address

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
log = structlog.get_logger("dealflow.metrics")
Refresh = Callable[[], Awaitable[None]]
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]
_SDK_TIMEOUT_S = 2.0
_READ_TIMEOUT_S = 5.0


def free_loopback_address() -> str:
    """A free `127.0.0.1:port` for the SDK's exporter (it cannot bind port 0 and tell us)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


async def exposition(refresh: Refresh | None = None) -> bytes:
    """Our metrics (the gauges read afresh by `refresh` first) and then the SDK's, if it serves any."""
    note = b""
    if refresh is not None:
        try:
            await refresh()
        except Exception as err:  # a scrape must still answer: the gauges keep their last values
            note += f"# dealflow gauges not refreshed: {_line(err)}\n".encode()
    ours = generate_latest(REGISTRY)
    address = sdk_metrics_address()
    if address is None:
        return ours + note
    try:
        async with httpx.AsyncClient(timeout=_SDK_TIMEOUT_S) as client:
            sdk = (await client.get(f"http://{address}/metrics")).content
    except httpx.HTTPError as err:
        sdk = f"# Temporal SDK metrics unavailable: {_line(err)}\n".encode()
    return ours + note + sdk


@contextlib.asynccontextmanager
async def serve_http(host: str, port: int, refresh: Refresh, ready: Readiness) -> AsyncIterator[int]:
    """Serve /metrics, /readyz and /healthz on host:port until the block ends; yields the port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                request = await reader.readuntil(b"\r\n\r\n")
            method, path, *_ = [*request.decode("latin-1").split(" ", 2), "", ""]
            path = path.split("?", 1)[0]
            if method != "GET":
                status, kind, body = 405, "text/plain", b"GET only\n"
            elif path == "/metrics":
                status, kind, body = 200, CONTENT_TYPE, await exposition(refresh)
            elif path == "/readyz":
                ok, checks = await ready()
                body = json.dumps({"status": "ready" if ok else "not ready", "checks": checks}).encode()
                status, kind = (200 if ok else 503), "application/json"
            elif path == "/healthz":
                status, kind, body = 200, "application/json", b'{"status": "ok"}'
            else:
                status, kind, body = 404, "text/plain", b"not found: /metrics, /readyz, /healthz\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
            head = (
                f"HTTP/1.1 {status} {reason[status]}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(answer, host, port)
    bound = int(server.sockets[0].getsockname()[1])
    log.info("metrics and readiness served", host=host, port=bound, paths=["/metrics", "/readyz", "/healthz"])
    try:
        yield bound
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
