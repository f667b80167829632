"""Event store ingest: the project's append path against a raw COPY of the same rows into a bare
table, in the same database and run, plus the latency of single-event appends. COPY into the
events table itself (`EventStore.copy_in`, what the history generator uses) is measured too: it
separates what the table's keys and indexes cost from what the append statement costs."""

import time
from dataclasses import dataclass

from bench.history import history
from bench.timing import p50_p95
from domain.events import DomainEvent
from store.event_store import EventStore, event_row

PREFIX = "ingest-"
_BARE = """
CREATE TABLE IF NOT EXISTS bench_bare_events (
    opportunity_id text, version integer, event_id text, type text, schema_version smallint,
    occurred_at timestamptz, payload jsonb
)
"""


@dataclass(frozen=True)
class IngestFigures:
    events: int
    append_batch: int  # events per append call
    append_per_s: float
    copy_per_s: float
    copy_into_events_per_s: float  # the store's own COPY path (copy_in) into the indexed events table
    single_p50_ms: float
    single_p95_ms: float
    singles: int

    @property
    def ratio(self) -> float:
        return self.append_per_s / self.copy_per_s


def _batches(events: list[DomainEvent], size: int) -> list[list[DomainEvent]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


async def _raw_copy(store: EventStore, events: list[DomainEvent], batch: int) -> float:
    async with store.pool.connection() as conn:
        await conn.execute(_BARE)
        await conn.execute("TRUNCATE bench_bare_events")
    started = time.perf_counter()
    for chunk in _batches(events, batch):
        async with (
            store.pool.connection() as conn,
            conn.transaction(),
            conn.cursor().copy("COPY bench_bare_events FROM STDIN") as copy,
        ):
            for e in chunk:
                await copy.write_row(event_row(e))
    return time.perf_counter() - started


async def measure_ingest(
    store: EventStore, events: int, batch: int = 1_000, singles: int = 500
) -> IngestFigures:
    """Append `events` (whole streams, `batch` events per call), COPY the same rows raw, then time
    `singles` one-event appends. The appended streams are removed afterwards."""
    await store.purge_streams(PREFIX)
    made = [e for stream in history(events + singles, seed=11, prefix=PREFIX) for e in stream]
    bulk, single = made[:events], made[events:]
    try:
        started = time.perf_counter()
        for chunk in _batches(bulk, batch):
            await store.append(chunk)
        append_s = time.perf_counter() - started
        await store.purge_streams(PREFIX)
        started = time.perf_counter()
        for chunk in _batches(bulk, batch):
            await store.copy_in(chunk)
        copy_in_s = time.perf_counter() - started
        copy_s = await _raw_copy(store, bulk, batch)
        latencies = []
        for e in single:
            started = time.perf_counter()
            await store.append([e])
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await store.purge_streams(PREFIX)
        async with store.pool.connection() as conn:
            await conn.execute("DROP TABLE IF EXISTS bench_bare_events")
    latency = p50_p95(latencies)
    return IngestFigures(
        events=len(bulk),
        append_batch=batch,
        append_per_s=len(bulk) / append_s,
        copy_per_s=len(bulk) / copy_s,
        copy_into_events_per_s=len(bulk) / copy_in_s,
        single_p50_ms=latency["p50_ms"],
        single_p95_ms=latency["p95_ms"],
        singles=len(latencies),
    )
