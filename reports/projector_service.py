"""The projector as a service (`dealflow projector`): it keeps the read models caught up as events
arrive, woken by the NOTIFY every append sends in its transaction (store/event_store.py), with a
slow poll as the fallback should a notification ever be missed.

Several instances may run; exactly one works at a time. Each holds a connection of its own and
asks for a session advisory lock on it (one lock per schema, so stores side by side on one server
do not share a leader): the instance that gets it LISTENs and projects, the others ask again every
`retry_s`. The lock belongs to that connection, so it goes the moment the leader does: a killed
process closes its socket, a terminated backend ends its session, and a standby takes over on its
next try. A leader whose connection breaks notices it at its next wait and steps back to standby.

The leader lock is for efficiency, not for correctness: each batch still runs under the batch
lock and re-reads the checkpoint inside it (reports/projector.py), and the rows a batch causes
commit with its checkpoint. So a leader that has lost its lock but not yet noticed, and a reader
that catches up before a report (app/connections.read_models), can never apply a batch twice or
skip one: they take turns per batch.
"""

import asyncio
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection, sql
from psycopg_pool import PoolTimeout

from reports.projector import DEFAULT_BATCH, NAME, Projector
from store.append import EVENTS_CHANNEL
from store.event_store import EventStore

log = structlog.get_logger("dealflow.projector")

LEADER_LOCK = 7_301_004  # with the schema's hash: the session lock the leading instance holds
APPLICATION = "dealflow projector"  # the leader connection's application_name starts with this
POLL_S = 30.0  # the fallback: catch up this often even if no notification came
RETRY_S = 1.0  # a standby asks for the lead this often: a dead leader is replaced within it
LONGEST_WAIT_S = 30.0  # between attempts after failures that repeat
_LOCK_KEY = "%s, hashtext(current_schema())"
# Trouble that passes (the server restarted, a connection was cut): step down, wait, try again.
_OUTAGES = (psycopg.OperationalError, PoolTimeout, OSError)


@dataclass(frozen=True)
class ProjectorLag:
    """How far the read models trail the event store."""

    checkpoint: int  # the position of the last event projected
    head: int  # the position of the last event committed
    events: int  # committed events not projected yet
    seconds: float  # how long the oldest of them has waited (since it was recorded); 0 when none
    leader: str | None  # the leading service's connection (application name), None: no service runs
    leader_since: datetime | None

    @property
    def caught_up(self) -> bool:
        return self.events == 0


_LAG = """
WITH cp AS (SELECT coalesce((SELECT position FROM projector_checkpoints WHERE name = %s), 0) AS position),
     behind AS (SELECT count(*) AS n FROM events, cp WHERE events.position > cp.position),
     oldest AS (SELECT recorded_at FROM events, cp WHERE events.position > cp.position
                ORDER BY events.position LIMIT 1),
     leader AS (SELECT a.application_name, a.backend_start FROM pg_locks l
                JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = %s::int::oid AND l.objid = hashtext(current_schema())::oid
                LIMIT 1)
SELECT cp.position, coalesce((SELECT max(position) FROM events), 0), (SELECT n FROM behind),
       coalesce(extract(epoch FROM clock_timestamp() - (SELECT recorded_at FROM oldest)), 0)::float8,
       (SELECT application_name FROM leader), (SELECT backend_start FROM leader)
FROM cp
"""


async def projector_lag(conn: AsyncConnection[Any]) -> ProjectorLag:
    """How far the read models trail the events, and which projector service leads, if any.

    For a health check (the HTTP API's `/readyz`) and `dealflow projector --status`: one read-only
    query, on any connection to the store (it takes no lock and waits for none). `events` counts
    the committed events after the checkpoint; `seconds` is the age of the oldest of them, 0 when
    the read models are caught up. Reports stay exact whatever the lag: a read catches up first.
    """
    cur = await conn.execute(_LAG, (NAME, LEADER_LOCK))
    row = await cur.fetchone()
    assert row is not None
    checkpoint, head, events, seconds, leader, since = row
    return ProjectorLag(int(checkpoint), int(head), int(events), float(seconds), leader, since)


class ProjectorService:
    """One instance of the service: `run()` until cancelled, leading or standing by."""

    def __init__(
        self,
        store: EventStore,
        *,
        poll_s: float = POLL_S,
        retry_s: float = RETRY_S,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self._store = store
        self._projector = Projector(store, batch_size)
        self._poll_s, self._retry_s = poll_s, retry_s
        self.name = f"{APPLICATION} {socket.gethostname()} pid {os.getpid()} #{id(self) % 10_000}"
        self.leading = False
        self.projected = 0  # events this instance projected while leading

    async def run(self) -> None:
        """Lead or stand by until cancelled. Never returns: a lost connection, or any failure to
        project (logged with its traceback), steps down and tries again, after a longer wait each
        time the failure repeats (up to LONGEST_WAIT_S), so a broken event cannot spin it."""
        wait = self._retry_s
        while True:
            try:
                await self._lead_when_possible()
            except _OUTAGES as err:
                log.warning("projector lost its connection", projector=self.name, error=_line(err))
            except Exception:
                log.exception("projector failed", projector=self.name, retry_in_s=wait)
                wait = min(wait * 2, LONGEST_WAIT_S)
            else:
                wait = self._retry_s
            finally:
                if self.leading:
                    log.info("projector stepped down", projector=self.name)
                self.leading = False
            await asyncio.sleep(wait)

    async def _lead_when_possible(self) -> None:
        # A connection of its own, as the store's pool makes them: the lock lives and dies with it.
        pool = self._store.pool
        conninfo, kwargs = pool.conninfo, pool.kwargs
        if not isinstance(conninfo, str) or not isinstance(kwargs, dict):
            raise TypeError("the projector service needs a store opened from a connection string")
        params: dict[str, Any] = {**kwargs, "autocommit": True, "application_name": self.name}
        async with await AsyncConnection.connect(conninfo, **params) as conn:
            announced = False
            while not await _try_lead(conn):
                if not announced:
                    log.info("projector standing by", projector=self.name)
                    announced = True
                await asyncio.sleep(self._retry_s)
            # Listen before catching up: what commits during the catch-up still wakes the next wait.
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(EVENTS_CHANNEL)))
            self.leading = True
            log.info("projector leading", projector=self.name, checkpoint=await self._projector.checkpoint())
            while True:
                done = await self._projector.catch_up()
                if done.events:
                    self.projected += done.events
                    log.info("projected", projector=self.name, events=done.events, checkpoint=done.position)
                # Wake on the first notification or after the poll; a broken connection raises
                # here, and the instance steps down.
                async for _ in conn.notifies(timeout=self._poll_s, stop_after=1):
                    pass


async def _try_lead(conn: AsyncConnection[Any]) -> bool:
    cur = await conn.execute(f"SELECT pg_try_advisory_lock({_LOCK_KEY})", (LEADER_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
