"""`dealflow serve`: the HTTP API (api/) on uvicorn, on the same servers as every other command:
TEMPORAL_ADDRESS (default: the dev server `dealflow worker` runs on localhost:7233) and
DATABASE_URL (default: the embedded PostgreSQL under DEALFLOW_DATA_DIR)."""

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Annotated

import typer
import uvicorn

from api.main import create_app
from app.errors import BadInput
from cli.common import deferred, open_app
from runtime.logging_setup import configure_logging
from runtime.metrics_http import free_loopback_address
from runtime.temporal_client import forwarding_runtime
from runtime.tracing import configure_tracing, stop_tracing

commands = typer.Typer()
PANEL = "Operations"
INTERRUPTED = 130  # as cli/main.py exits when a signal stops a command
GRACE_S = 30


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow serve --port 8000   (then: curl http://127.0.0.1:8000/readyz; docs at /docs)",
)
@deferred
async def serve(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="the port (0: any free one, logged)")] = 8000,
    access_log: Annotated[
        bool, typer.Option(help="also log every request (commands are logged anyway, by the audit)")
    ] = False,
) -> int | None:
    """Serve the HTTP API: OpenAPI at /openapi.json, interactive docs at /docs (offline), /healthz,
    /readyz and /metrics (Prometheus). Callers authenticate with `Authorization: Bearer` (`dealflow
    token`, `dealflow apikey create`). Needs a running worker for commands, like the other commands.
    Its log is JSON lines, one `dealflow.audit` line per command. SIGTERM lets requests in flight
    finish (30 s at most)."""
    configure_logging(logging.INFO)  # a long-running service: its log is its output
    listening = _listen(host, port)
    # The SDK's metrics (its Temporal client's) on a loopback port, relayed by /metrics; its core's
    # log lines into our JSON log. Traces by OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    forwarding_runtime(free_loopback_address())
    configure_tracing("api")
    try:
        return await _serve(listening, access_log)
    finally:
        stop_tracing()


async def _serve(listening: socket.socket, access_log: bool) -> int | None:
    async with open_app() as app:
        app.catalog  # noqa: B018 - a bad pipeline file is a usage error now, not on the first request
        await app.identity()  # a half-configured OIDC issuer too
        config = uvicorn.Config(
            create_app(app.settings, dealflow=app),
            log_config=None,  # the root logger's JSON lines (runtime/logging_setup.py)
            lifespan="on",
            server_header=False,
            access_log=access_log,
            timeout_graceful_shutdown=GRACE_S,  # a stop waits this long at most for requests in flight
        )
        bound = listening.getsockname()
        logging.getLogger("dealflow.api").info(
            f"dealflow API on http://{bound[0]}:{bound[1]} (docs: /docs)",
            extra={"host": bound[0], "port": bound[1]},
        )
        server = _Server(config)
        await server.serve(sockets=[listening])
    return INTERRUPTED if server.signalled else None


class _Server(uvicorn.Server):
    """uvicorn, stopped gracefully by SIGINT or SIGTERM through the event loop: the command
    line's own SIGTERM handler (which cancels the command) steps aside while it serves, so a
    signal lets requests in flight finish and the lifespan close, then exits with 130."""

    signalled = False

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop, sig)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            task = asyncio.current_task()
            if task is not None:  # the command line's handler again, for the unwinding after
                loop.add_signal_handler(signal.SIGTERM, task.cancel)

    def _stop(self, sig: int) -> None:
        self.signalled = True
        self.handle_exit(sig, None)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is a usage error (exit 2), not a crash."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise BadInput(f"--host {host!r}: {err.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        why = "the port is in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err))
        raise BadInput(f"cannot listen on {host}:{port}: {why}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock
