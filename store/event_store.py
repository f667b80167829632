"""Append-only event store on PostgreSQL.

Events are keyed by (stream_id, version): appending the same event twice stores it once,
which makes the append activity safe to retry. Appending a *different* event at a taken
(stream_id, version) is a conflict and is refused loudly instead of silently dropped. How a
batch is merged, and why appends are serialised so that positions commit in order: store/append.py.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Histogram
from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from domain.events import DomainEvent, event_from_json
from store.append import (
    APPEND_LOCK,
    EVENT_COLUMNS,
    EVENTS_CHANNEL,
    AppendResult,
    append_batch,
    event_row,
    prepare,
)
from store.append import EventConflictError as EventConflictError
from store.migrations import migrate

# How long an append took, from asking for a connection to its commit (the lock wait included):
# dealflow_append_seconds, on the metrics endpoints (app/metrics.py).
APPEND_SECONDS = Histogram(
    "dealflow_append_seconds",
    "Time to append a batch of events to the event store, waiting for the append lock included",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


@dataclass(frozen=True)
class StoredRow:
    version: int
    event_id: str
    type: str
    event: DomainEvent


class EventStore:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[tuple[object, ...]]]) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, conninfo: str, *, max_size: int = 8) -> "EventStore":
        pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": tuple_row},
            # A connection broken by a server restart is replaced before it is lent, instead of
            # failing the activity attempt that would use it.
            check=AsyncConnectionPool.check_connection,
            configure=prepare,  # its append stage
        )
        await pool.open(wait=True, timeout=30)
        store = cls(pool)
        async with pool.connection() as conn:
            await migrate(conn)
        return store

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> AsyncConnectionPool[AsyncConnection[tuple[object, ...]]]:
        return self._pool

    async def append(
        self, events: Sequence[DomainEvent], *, conn: AsyncConnection[tuple[object, ...]] | None = None
    ) -> AppendResult:
        """Store the events that are not stored yet, in one transaction.

        Each stream's events get positions in version order, whatever order they were given in,
        so a reader following positions meets every stream in its own order. Given `conn` (in a
        transaction of the caller's), the events commit with the caller's other writes, and other
        appends wait for that commit.
        """
        if not events:
            return AppendResult(0, 0)
        if conn is not None:
            return await append_batch(conn, events, own_transaction=False)
        started = time.perf_counter()
        async with self._pool.connection() as own, own.transaction():
            result = await append_batch(own, events, own_transaction=True)
        APPEND_SECONDS.observe(time.perf_counter() - started)
        return result

    async def copy_in(self, events: Sequence[DomainEvent]) -> int:
        """Bulk-load events that are known to be new (a generated history) with COPY, in one
        transaction under the same lock as `append`, so positions still commit in order."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s), pg_notify(%s, '')", (APPEND_LOCK, EVENTS_CHANNEL)
            )
            async with conn.cursor().copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for e in events:
                    await copy.write_row(event_row(e))
        return len(events)

    async def read_stream(self, stream_id: str) -> list[DomainEvent]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT payload::text FROM events WHERE stream_id = %s ORDER BY version",
                (stream_id,),
            )
            return [event_from_json(str(r[0])) for r in await cur.fetchall()]

    async def read_stream_rows(self, stream_id: str) -> list[StoredRow]:
        """A stream as its rows hold it: the key columns beside the event they carry (which a
        reconciliation compares, since a row's columns could disagree with its payload)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT version, event_id, type, payload::text FROM events WHERE stream_id = %s"
                " ORDER BY version",
                (stream_id,),
            )
            rows = await cur.fetchall()
        return [StoredRow(int(v), str(i), str(t), event_from_json(str(p))) for v, i, t, p in rows]  # type: ignore[call-overload]

    async def streams_opened(self, start: datetime, end: datetime | None, limit: int) -> list[str]:
        """The opportunities opened in [start, end), oldest first, at most `limit`."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT stream_id FROM events WHERE type = 'OpportunityOpened' AND occurred_at >= %s"
                " AND (%s::timestamptz IS NULL OR occurred_at < %s) ORDER BY occurred_at LIMIT %s",
                (start, end, end, limit),
            )
            return [str(row[0]) for row in await cur.fetchall()]

    async def stream_versions(self, stream_ids: Sequence[str]) -> dict[str, list[int]]:
        """The stored versions of each stream, in order (for checks that nothing is missing or doubled)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT stream_id, array_agg(version ORDER BY version) FROM events"
                " WHERE stream_id = ANY(%s) GROUP BY stream_id",
                (list(stream_ids),),
            )
            return {str(r[0]): list(r[1]) for r in await cur.fetchall()}  # type: ignore[call-overload]

    async def purge_streams(self, prefix: str) -> int:
        """Delete every stream whose id starts with `prefix`; returns the number of events removed.

        The store is append-only for the product; this exists so the demo can replay itself from
        scratch on each run without touching anyone else's streams.
        """
        async with self._pool.connection() as conn:
            cur = await conn.execute("DELETE FROM events WHERE starts_with(stream_id, %s)", (prefix,))
            return cur.rowcount
