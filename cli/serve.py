"""`dealflow serve`: the HTTP API (api/) on uvicorn, on the same servers as every other command:
TEMPORAL_ADDRESS (default: the dev server `dealflow worker` runs on localhost:7233) and
DATABASE_URL (default: the embedded PostgreSQL under DEALFLOW_DATA_DIR)."""

import errno
import logging
import socket
from typing import Annotated

import typer
import uvicorn

from api.main import create_app
from app.errors import BadInput
from cli.common import deferred, open_app
from runtime.logging_setup import configure_logging

commands = typer.Typer()
PANEL = "Operations"


@commands.command(
    rich_help_panel=PANEL,
    epilog="Example: dealflow serve --port 8000   (then: curl http://127.0.0.1:8000/readyz; docs at /docs)",
)
@deferred
async def serve(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="the port (0: any free one, logged)")] = 8000,
) -> None:
    """Serve the HTTP API: OpenAPI at /openapi.json, interactive docs at /docs (offline), /healthz
    and /readyz. Callers authenticate with `Authorization: Bearer` (`dealflow token`, `dealflow
    apikey create`). Needs a running worker for commands, like the other commands. Its log is JSON
    lines, one `dealflow.audit` line per command."""
    configure_logging(logging.INFO)  # a long-running service: its log is its output
    listening = _listen(host, port)
    async with open_app() as app:
        app.catalog  # noqa: B018 - a bad pipeline file is a usage error now, not on the first request
        await app.identity()  # a half-configured OIDC issuer too
        config = uvicorn.Config(
            create_app(app.settings, dealflow=app),
            log_config=None,  # the root logger's JSON lines (runtime/logging_setup.py)
            lifespan="on",
            server_header=False,
        )
        bound = listening.getsockname()
        logging.getLogger("dealflow.api").info(
            f"dealflow API on http://{bound[0]}:{bound[1]} (docs: /docs)",
            extra={"host": bound[0], "port": bound[1]},
        )
        await uvicorn.Server(config).serve(sockets=[listening])


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
