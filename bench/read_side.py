"""Read-side figures on whatever history the store holds (e.g. one written by bench.history):

    python -m bench.read_side [--database-url URL] [--repeat 20]

Prints the projector's full rebuild time and rate, its rate over the last 5 % of the events (the
incremental rate once the read models are full size), and p50/p95 latency of each report query
(cycle times, funnel/win rate/forecast, weekly brief) over the last year of the history.
"""

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from domain.pipeline import load_catalog
from projections.cycle_times import Period, cycle_time_report
from projections.event_store import EventStore
from projections.pipeline_metrics import pipeline_metrics
from projections.projector import NAME, Projector
from projections.sales_brief import compile_brief


async def _latency(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


async def measure(store: EventStore, repeat: int) -> None:
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*), max(occurred_at) FROM events")
        row = await cur.fetchone()
    assert row is not None
    total, last_at = int(str(row[0])), row[1]
    assert isinstance(last_at, datetime), "the store holds no events"
    print(f"events in the store: {total:,}")
    projector = Projector(store)
    marks: list[tuple[int, float]] = []
    rebuilt = await projector.rebuild(on_batch=lambda n, _: marks.append((n, time.perf_counter())))
    print(f"rebuild from zero: {rebuilt.seconds:.1f} s ({rebuilt.events / rebuilt.seconds:,.0f} events/s)")
    # Incremental ingest: the rate of the last 5 % of the batches, when the read models are full size.
    tail = [m for m in marks if m[0] >= total * 0.95] or marks[-1:]
    before = max((m for m in marks if m[0] < tail[0][0]), default=(0, tail[0][1]))
    n, seconds = tail[-1][0] - before[0], tail[-1][1] - before[1]
    if seconds > 0:
        print(f"incremental catch-up, last {n:,} events: {n / seconds:,.0f} events/s")
    async with store.pool.connection() as conn:  # the history thins out after its last lead
        cur = await conn.execute("SELECT max(opened_at) FROM rm_opportunities")
        row = await cur.fetchone()
    assert row is not None
    assert isinstance(row[0], datetime)
    last_at = row[0]
    period = Period(start=last_at - timedelta(days=365), end=last_at, as_of=last_at)
    catalog = load_catalog()
    week = (last_at - timedelta(days=last_at.weekday() + 7)).date()
    queries: dict[str, Callable[[], Awaitable[Any]]] = {}
    async with store.pool.connection() as conn:
        queries = {
            "cycle times (team + per rep, time per stage)": lambda: cycle_time_report(conn, period),
            "funnel, win rate, lost reasons, forecast": lambda: pipeline_metrics(conn, catalog, period),
            "weekly sales brief": lambda: compile_brief(conn, "week", week, week + timedelta(days=7)),
        }
        for name, call in queries.items():
            p50, p95 = await _latency(call, repeat)
            print(f"{name:<48} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    print(f"(checkpoint {NAME!r} at {await projector.checkpoint():,})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded PostgreSQL")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from runtime.embedded import endpoints
    from runtime.settings import Settings

    async with endpoints(Settings.from_env(), temporal=False) as ep:
        store = await EventStore.open(args.database_url or ep.database_url)
        try:
            await measure(store, args.repeat)
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
