"""The catch-up projector: keeps the read models (`rm_*` tables) up to date from the event store.
It is the one place that reads the events' JSON (through reports/projector_fields.py); every
report reads read models.

It reads events in `position` order after its checkpoint, a batch at a time, and writes the rows they
cause and the new checkpoint in one transaction: a batch is projected exactly once, and the projector
can be stopped at any moment and resumed (or run in several processes: batches serialise on a lock).
It never skips a late commit: appends hold a transaction lock while they insert (event_store.py), so
positions become visible strictly in order and "after position N" is complete once N is visible.

`rebuild()` empties the read models and projects every event again; the result is identical, row
for row, to what incremental catch-up produced (tests/test_projector.py checks it under concurrent
writers).

Each read model's rows are made by a module of its own, each given the batch's events of the types
it reads, in order: projector_stages (opportunities, stage visits, amounts, losses, first entries),
projector_discounts (requests, levels, the approvals inbox), projector_follow_up (activity, nags,
clause checks), projector_after_sales (relationships, revisits, renewals), projector_refusals
(discount decisions the rules refused, for the approvals inbox), projector_forecast (expected
close dates and forecast categories set on deals). The stage module runs
first: the others look up a deal's pipeline and owner in rm_opportunities.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from reports import (
    projector_after_sales,
    projector_discounts,
    projector_follow_up,
    projector_forecast,
    projector_refusals,
    projector_stages,
)
from reports.projector_fields import READS, StoredEvent
from reports.projector_tables import Table, dump
from store.event_store import EventStore

NAME = "read_models"
_LOCK = 7_301_003  # serialises projector batches across processes
DEFAULT_BATCH = 5_000


@dataclass(frozen=True)
class _Projection:
    types: frozenset[str]
    project: Callable[[AsyncConnection[Any], list[StoredEvent]], Awaitable[None]]
    tables: tuple[Table, ...]


PROJECTIONS = tuple(
    _Projection(m.TYPES, m.project, m.TABLES)
    for m in (
        projector_stages,
        projector_discounts,
        projector_follow_up,
        projector_after_sales,
        projector_refusals,
        projector_forecast,
    )
)
TABLES = tuple(t for p in PROJECTIONS for t in p.tables)
READ_MODELS = tuple(t.name for t in TABLES)
_PAYLOAD_TYPES = sorted(READS)  # the only events whose JSON is fetched and parsed


@dataclass(frozen=True)
class CatchUpResult:
    events: int  # events read (every type)
    position: int  # the checkpoint now
    seconds: float


class Projector:
    def __init__(self, store: EventStore, batch_size: int = DEFAULT_BATCH) -> None:
        self._store = store
        self._batch_size = batch_size

    async def checkpoint(self) -> int:
        async with self._store.pool.connection() as conn:
            return await _checkpoint(conn)

    async def catch_up(
        self, *, max_batches: int | None = None, on_batch: Callable[[int, int], None] = lambda n, pos: None
    ) -> CatchUpResult:
        """Project every event committed so far (or `max_batches` batches); return what was done."""
        started, total, batches = time.perf_counter(), 0, 0
        position = await self.checkpoint()
        while max_batches is None or batches < max_batches:
            n, position = await self._project_batch()
            if n == 0:
                break
            total, batches = total + n, batches + 1
            on_batch(total, position)
        return CatchUpResult(total, position, time.perf_counter() - started)

    async def rebuild(self, on_batch: Callable[[int, int], None] = lambda n, pos: None) -> CatchUpResult:
        """Empty the read models, project every event from the first, and ANALYZE them (without
        statistics the planner misjudges the refilled tables: the weekly brief took 10x longer)."""
        async with self._store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            await conn.execute(f"TRUNCATE {', '.join(READ_MODELS)}")
            await conn.execute("DELETE FROM projector_checkpoints WHERE name = %s", (NAME,))
        result = await self.catch_up(on_batch=on_batch)
        async with self._store.pool.connection() as conn:  # fresh tables: give the planner their shape
            await conn.execute(f"ANALYZE {', '.join(READ_MODELS)}")
        return result

    async def _project_batch(self) -> tuple[int, int]:
        async with self._store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            after = await _checkpoint(conn)
            cur = await conn.execute(
                "SELECT position, stream_id, version, type, occurred_at,"
                " CASE WHEN type = ANY(%s) THEN payload::text END FROM events"
                " WHERE position > %s ORDER BY position LIMIT %s",
                (_PAYLOAD_TYPES, after, self._batch_size),
            )
            rows = await cur.fetchall()
            if not rows:
                return 0, after
            events = [StoredEvent.from_row(row) for row in rows]
            for projection in PROJECTIONS:
                if mine := [e for e in events if e.type in projection.types]:
                    await projection.project(conn, mine)
            last = events[-1].position
            await conn.execute(
                "INSERT INTO projector_checkpoints (name, position) VALUES (%s, %s) ON CONFLICT (name)"
                " DO UPDATE SET position = excluded.position, updated_at = clock_timestamp()",
                (NAME, last),
            )
            return len(events), last


async def _checkpoint(conn: AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT position FROM projector_checkpoints WHERE name = %s", (NAME,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def dump_read_models(store: EventStore) -> bytes:
    """Every read model's rows in key order, as PostgreSQL's COPY text: equal dumps, equal models."""
    async with store.pool.connection() as conn:
        return await dump(conn, TABLES)
