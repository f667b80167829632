"""The projector as a service: woken by the append's NOTIFY, one leader among several instances
(a PostgreSQL advisory lock), a standby that takes over when the leader's connection or process
dies, nothing skipped or applied twice; and its lag, as a health check reads it.

Deadlines here only stop a broken test from hanging; how fast a takeover is belongs to bench/."""

import asyncio
import contextlib
import inspect
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

import starter
from app.bootstrap import open_dealflow
from domain.events import DomainEvent
from reports.projector import Projector, dump_read_models
from reports.projector_service import LEADER_LOCK, ProjectorService, projector_lag
from runtime.settings import Settings
from store.append import EVENTS_CHANNEL
from store.event_store import EventStore
from tests.test_projector import lives

ROOT = Path(__file__).resolve().parent.parent
HANG_S = 60  # a bound against hanging, not a figure under test
NEVER_POLL_S = 3_600.0  # so only a notification can wake a leader during a test


async def until(check: Callable[[], object], what: str) -> None:
    """Wait until `check()` (or what it returns, awaited) is true."""
    deadline = time.monotonic() + HANG_S
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.05)


async def caught_up(store: EventStore) -> bool:
    async with store.pool.connection() as conn:
        return (await projector_lag(conn)).caught_up


async def append_all(store: EventStore, streams: list[list[DomainEvent]]) -> None:
    for events in streams:
        for start in range(0, len(events), 3):
            await store.append(events[start : start + 3])


async def leader_backend(store: EventStore) -> tuple[int, str] | None:
    """The backend pid and application name of the connection that holds the leader lock."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::int::oid"
            " AND l.objid = hashtext(current_schema())::oid AND l.objsubid = 2",
            (LEADER_LOCK,),
        )
        row = await cur.fetchone()
    return (int(str(row[0])), str(row[1])) if row else None


async def assert_exactly_once(store: EventStore) -> None:
    """Every event projected once: the read models equal a rebuild from zero."""
    incremental = await dump_read_models(store)
    await Projector(store).rebuild()
    assert await dump_read_models(store) == incremental


async def test_an_append_notifies_when_it_commits(store: EventStore, database_url: str) -> None:
    streams = lives(2, random.Random(5))
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {EVENTS_CHANNEL}")
        async with store.pool.connection() as conn, conn.transaction():
            await store.append(streams[0], conn=conn)  # delivered once this commits
        got = [n async for n in listener.notifies(timeout=HANG_S, stop_after=1)]
        assert [n.channel for n in got] == [EVENTS_CHANNEL]


async def test_lag_counts_the_unprojected_events_and_names_no_leader(store: EventStore) -> None:
    streams = lives(4, random.Random(6))
    await append_all(store, streams)
    total = sum(len(s) for s in streams)
    async with store.pool.connection() as conn:
        lag = await projector_lag(conn)
        assert (lag.checkpoint, lag.events, lag.leader) == (0, total, None)
        assert lag.head >= total
        assert lag.seconds >= 0
        assert not lag.caught_up
        await Projector(store).catch_up()
        lag = await projector_lag(conn)
    assert (lag.checkpoint, lag.events, lag.seconds) == (lag.head, 0, 0.0)


@contextlib.asynccontextmanager
async def services(database_url: str, n: int) -> AsyncIterator[list[tuple[ProjectorService, EventStore]]]:
    """`n` service instances in this process, each with its own pool and leader connection."""
    stores = [await EventStore.open(database_url, max_size=2) for _ in range(n)]
    made = [ProjectorService(s, poll_s=NEVER_POLL_S, retry_s=0.1) for s in stores]
    tasks = [asyncio.create_task(m.run()) for m in made]
    try:
        yield list(zip(made, stores, strict=True))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in stores:
            await s.close()


async def test_one_leads_and_a_standby_takes_over_when_its_connection_is_killed(
    store: EventStore, database_url: str
) -> None:
    streams = lives(24, random.Random(7))
    async with services(database_url, 3) as running:
        await until(lambda: sum(s.leading for s, _ in running) == 1, "a leader")
        await append_all(store, streams[:8])
        await until(lambda: caught_up(store), "the leader to project the first events")
        first = next(s for s, _ in running if s.leading)
        assert [s.projected for s, _ in running if s is not first] == [0, 0]  # standbys do nothing
        backend = await leader_backend(store)
        assert backend is not None
        assert backend[1] == first.name
        async with store.pool.connection() as conn:  # the leader's connection dies
            await conn.execute("SELECT pg_terminate_backend(%s)", (backend[0],))
        writing = asyncio.create_task(append_all(store, streams[8:]))
        await until(lambda: sum(s.leading for s, _ in running) == 1 and not first.leading, "a new leader")
        await writing
        await until(lambda: caught_up(store), "the new leader to project the rest")
        second = next(s for s, _ in running if s.leading)
        assert second is not first
        assert second.projected > 0
        await until(lambda: leader_backend(store), "the leader lock held again")
        total = sum(len(s) for s in streams)
        assert sum(s.projected for s, _ in running) == total  # none skipped, none twice
    await assert_exactly_once(store)


class ProjectorProcesses:
    """`dealflow projector` processes on the test's database; the survivors are stopped at the end."""

    def __init__(self, database_url: str) -> None:
        self._env = {**os.environ, "DATABASE_URL": database_url}
        self._env.pop("DEALFLOW_DATABASE", None)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, list[bytes]] = {}

    def spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "starter.py", "projector", "--poll", str(NEVER_POLL_S)],
            cwd=ROOT,
            env=self._env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        log = self.logs.setdefault(proc.pid, [])
        assert proc.stderr is not None
        threading.Thread(target=lambda: log.extend(proc.stderr or []), daemon=True).start()
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> int:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=HANG_S)

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stderr:
                proc.stderr.close()


async def test_killing_the_leading_process_hands_the_work_to_another(
    store: EventStore, database_url: str
) -> None:
    streams = lives(24, random.Random(8))
    processes = ProjectorProcesses(database_url)
    try:
        a, b = processes.spawn(), processes.spawn()
        await until(lambda: leader_backend(store), "a leading process")
        await append_all(store, streams[:8])
        await until(lambda: caught_up(store), "the leading process to project the first events")
        held = await leader_backend(store)
        assert held is not None
        leader = a if f"pid {a.pid} " in held[1] else b
        assert f"pid {leader.pid} " in held[1]
        other = b if leader is a else a
        leader.kill()  # SIGKILL: no goodbye; the server ends its session and frees the lock
        leader.wait()
        await append_all(store, streams[8:])
        await until(lambda: _held_by(store, other.pid), "the other process to lead")
        await until(lambda: caught_up(store), "the other process to project the rest")
        assert processes.stop(other) == 130  # the survivor stops cleanly on SIGTERM
    finally:
        processes.kill_all()
    await assert_exactly_once(store)


async def _held_by(store: EventStore, pid: int) -> bool:
    held = await leader_backend(store)
    return held is not None and f"pid {pid} " in held[1]


async def test_the_command_catches_up_once_and_tells_the_lag(
    store: EventStore, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("DEALFLOW_DATABASE", raising=False)
    streams = lives(3, random.Random(9))
    await append_all(store, streams)
    total = sum(len(s) for s in streams)
    assert await starter.main(["projector", "--status"]) == 0
    assert f"{total} events behind" in capsys.readouterr().out
    assert await starter.main(["projector", "--once", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["projected"] == total
    assert (shown["events_behind"], shown["leader"]) == (0, None)
    assert shown["checkpoint"] == shown["head"]
    async with open_dealflow(Settings.from_env()) as app:  # what the HTTP API's /readyz calls
        lag = await app.connections.projector_lag()
    assert (lag.events, lag.checkpoint) == (0, shown["checkpoint"])
