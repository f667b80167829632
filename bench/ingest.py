"""Event store ingest: the project's append path against a raw COPY of the same rows into a bare
table, in the same database and run, plus the latency of single-event appends. COPY into the
events table itself (`EventStore.copy_in`, what the history generator uses) is measured too: it
separates what the table's keys and indexes cost from what the append statement costs. So is the
round-one append (seven unnested arrays, `ON CONFLICT … RETURNING`), kept here as the A of an
A/B against today's staged append (COPY into a temporary table, one `INSERT … SELECT`):

    python -m bench.ingest [--events 20000] [--database-url URL]
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass

from bench.history import history
from bench.timing import p50_p95
from domain.events import DomainEvent
from store.append import event_row
from store.event_store import EventStore

PREFIX = "ingest-"
_BARE = """
CREATE TABLE IF NOT EXISTS bench_bare_events (
    opportunity_id text, version integer, event_id text, type text, schema_version smallint,
    occurred_at timestamptz, payload jsonb
)
"""
# Round one's append statement, as store/event_store.py had it before the staged merge.
_UNNEST = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, occurred_at, payload)
SELECT i, v, e, t, s, o, p::jsonb
FROM unnest(%s::text[], %s::int[], %s::text[], %s::text[], %s::int[], %s::timestamptz[], %s::text[])
     AS u(i, v, e, t, s, o, p)
ORDER BY i, v
ON CONFLICT (stream_id, version) DO NOTHING
RETURNING stream_id, version
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
    unnest_append_per_s: float = 0.0  # round one's append, same rows, same run
    unnest_single_p50_ms: float = 0.0
    unnest_single_p95_ms: float = 0.0

    @property
    def ratio(self) -> float:
        return self.append_per_s / self.copy_per_s

    @property
    def unnest_ratio(self) -> float:
        return self.unnest_append_per_s / self.copy_per_s


def _batches(events: list[DomainEvent], size: int) -> list[list[DomainEvent]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


async def unnest_append(store: EventStore, events: Sequence[DomainEvent]) -> None:
    """Round one's append: the rows as seven arrays, unnested into one INSERT, under the same lock."""
    columns: tuple[list[object], ...] = ([], [], [], [], [], [], [])
    for e in sorted(events, key=lambda e: (e.stream_id, e.version)):
        for column, value in zip(columns, event_row(e), strict=True):
            column.append(value)
    async with store.pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7301002)")
        await (await conn.execute(_UNNEST, columns)).fetchall()


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


async def _timed(
    append: Callable[[list[DomainEvent]], Awaitable[object]], chunks: list[list[DomainEvent]]
) -> float:
    started = time.perf_counter()
    for chunk in chunks:
        await append(chunk)
    return time.perf_counter() - started


async def _singles(
    append: Callable[[list[DomainEvent]], Awaitable[object]], events: list[DomainEvent]
) -> dict[str, float]:
    latencies = []
    for e in events:
        started = time.perf_counter()
        await append([e])
        latencies.append((time.perf_counter() - started) * 1000)
    return p50_p95(latencies)


async def measure_ingest(
    store: EventStore, events: int, batch: int = 1_000, singles: int = 500, rounds: int = 2
) -> IngestFigures:
    """Append `events` (whole streams, `batch` events per call) with today's append and round one's,
    and COPY the same rows raw, in turn over `rounds`; then COPY them into the events table, and time
    `singles` one-event appends of each kind. The appended streams are removed afterwards."""
    await store.purge_streams(PREFIX)
    made = [e for stream in history(events + singles, seed=11, prefix=PREFIX) for e in stream]
    bulk, single = made[:events], made[events:]
    chunks = _batches(bulk, batch)
    seconds = {"staged": 0.0, "unnest": 0.0, "raw": 0.0}
    try:
        for _ in range(rounds):  # A/B/reference in turn, so that each meets the machine's same moods
            for kind, append in (("staged", store.append), ("unnest", partial_unnest(store))):
                seconds[kind] += await _timed(append, chunks)
                await store.purge_streams(PREFIX)
            seconds["raw"] += await _raw_copy(store, bulk, batch)
        started = time.perf_counter()
        for chunk in chunks:
            await store.copy_in(chunk)
        copy_in_s = time.perf_counter() - started
        await store.purge_streams(PREFIX)
        staged_single = await _singles(store.append, single)
        await store.purge_streams(PREFIX)
        unnest_single = await _singles(partial_unnest(store), single)
    finally:
        await store.purge_streams(PREFIX)
        async with store.pool.connection() as conn:
            await conn.execute("DROP TABLE IF EXISTS bench_bare_events")
    n = len(bulk)
    return IngestFigures(
        events=n,
        append_batch=batch,
        append_per_s=n * rounds / seconds["staged"],
        copy_per_s=n * rounds / seconds["raw"],
        copy_into_events_per_s=n / copy_in_s,
        single_p50_ms=staged_single["p50_ms"],
        single_p95_ms=staged_single["p95_ms"],
        singles=len(single),
        unnest_append_per_s=n * rounds / seconds["unnest"],
        unnest_single_p50_ms=unnest_single["p50_ms"],
        unnest_single_p95_ms=unnest_single["p95_ms"],
    )


def partial_unnest(store: EventStore) -> Callable[[list[DomainEvent]], Awaitable[None]]:
    return lambda chunk: unnest_append(store, chunk)


def describe(f: IngestFigures) -> list[str]:
    return [
        f"append ({f.append_batch} events per call) {f.append_per_s:,.0f} events/s,"
        f" raw COPY {f.copy_per_s:,.0f} events/s: {f.ratio:.2f}x (target >= 0.5x)",
        f"round one's append (unnest), same rows: {f.unnest_append_per_s:,.0f} events/s:"
        f" {f.unnest_ratio:.2f}x",
        f"COPY into the events table itself: {f.copy_into_events_per_s:,.0f} events/s",
        f"single-event append: p50 {f.single_p50_ms:.2f} ms, p95 {f.single_p95_ms:.2f} ms"
        f" (round one's: p50 {f.unnest_single_p50_ms:.2f} ms, p95 {f.unnest_single_p95_ms:.2f} ms)",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description="event store ingest, A/B against round one's append")
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded PostgreSQL")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from runtime.databases import database_on
    from runtime.embedded import endpoints
    from runtime.settings import Settings

    async with endpoints(Settings.from_env(), temporal=False) as ep:
        url = args.database_url or await database_on(ep.database_url, "dealflow_bench")
        store = await EventStore.open(url)
        try:
            figures = await measure_ingest(store, args.events, rounds=args.rounds)
        finally:
            await store.close()
    for line in describe(figures):
        print(line)
    print(asdict(figures))


if __name__ == "__main__":
    asyncio.run(main())
