"""Read-side figures on whatever history the store holds (e.g. one written by bench.history):

    python -m bench.read_side [--database-url URL] [--repeat 20]

The projector's full rebuild time and rate, its rate over the last 5 % of the events (the
incremental rate once the read models are full size), a plain `INSERT … SELECT` recomputation of
the stage-visit read model in SQL as the reference (and a check that both give the same rows), and
p50/p95 latency of each report query over the last year and the last month of the history.

    python -m bench.read_side --service [--database-url URL]

The projector service instead (reports/projector_service.py), on streams of its own: how long after
an append commits its events are in the read models (the NOTIFY wake-up, p50/p95), and how long a
standby takes to finish the work once the leader's connection is killed.
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bench.timing import p50_p95
from domain.pipeline import load_catalog
from reports.cycle_times import cycle_time_report
from reports.funnel import pipeline_metrics
from reports.period import Period
from reports.projector import Projector
from reports.projector_service import LEADER_LOCK, ProjectorService, projector_lag
from reports.projector_stages import STAGE_MOVE_TYPES
from reports.sales_brief import compile_brief
from store.event_store import EventStore

# The reference reads the events themselves, to cross-check the projector (the reports read only
# read models): which events move an opportunity between stages, and the stage each leaves it in.
IS_STAGE_MOVE = "type IN (" + ", ".join(f"'{t}'" for t in STAGE_MOVE_TYPES) + ")"
STAGE_AFTER_MOVE = "coalesce(payload->>'to_stage', payload->>'stage', 'identify')"

# The reference: rm_stage_visits recomputed from the events with window functions, in one statement.
_REFERENCE = f"""
INSERT INTO bench_reference_visits
SELECT stream_id, row_number() OVER (PARTITION BY stream_id ORDER BY version), stage,
       occurred_at, next_at,
       CASE next_type WHEN 'StageAdvanced' THEN 'advanced' WHEN 'OpportunityLost' THEN 'lost' END
FROM (
    SELECT stream_id, version, type, occurred_at, {STAGE_AFTER_MOVE} AS stage,
           lead(type) OVER w AS next_type, lead(occurred_at) OVER w AS next_at
    FROM events WHERE {IS_STAGE_MOVE}
    WINDOW w AS (PARTITION BY stream_id ORDER BY version)
) moves
WHERE type <> 'OpportunityLost'
"""
_DIFFERENCE = """
SELECT count(*) FROM (
    (SELECT opportunity_id, visit_no, stage, entered_at, exited_at, exit FROM rm_stage_visits
     EXCEPT ALL SELECT * FROM bench_reference_visits)
    UNION ALL
    (SELECT * FROM bench_reference_visits
     EXCEPT ALL SELECT opportunity_id, visit_no, stage, entered_at, exited_at, exit FROM rm_stage_visits)
) d
"""


async def _latency(call: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return p50_p95(times)


async def _reference(store: EventStore) -> tuple[float, int]:
    """Seconds the SQL reference takes, and how many rows differ from the projector's."""
    async with store.pool.connection() as conn:
        await conn.execute("DROP TABLE IF EXISTS bench_reference_visits")
        await conn.execute(
            "CREATE TABLE bench_reference_visits (opportunity_id text, visit_no bigint, stage text,"
            " entered_at timestamptz, exited_at timestamptz, exit text)"
        )
        started = time.perf_counter()
        await conn.execute(_REFERENCE)
        seconds = time.perf_counter() - started
        cur = await conn.execute(_DIFFERENCE)
        row = await cur.fetchone()
        await conn.execute("DROP TABLE bench_reference_visits")
    assert row is not None
    return seconds, int(str(row[0]))


async def measure(store: EventStore, repeat: int, say: Callable[[str], None] = print) -> dict[str, Any]:
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM events")
        row = await cur.fetchone()
    assert row is not None
    total = int(str(row[0]))
    say(f"events in the store: {total:,}")
    projector = Projector(store)
    marks: list[tuple[int, float]] = []
    rebuilt = await projector.rebuild(on_batch=lambda n, _: marks.append((n, time.perf_counter())))
    out: dict[str, Any] = {
        "events": total,
        "rebuild_s": rebuilt.seconds,
        "rebuild_events_per_s": rebuilt.events / rebuilt.seconds,
    }
    say(f"projector rebuild from zero: {rebuilt.seconds:.1f} s ({out['rebuild_events_per_s']:,.0f} events/s)")
    # Incremental ingest: the rate of the last 5 % of the batches, when the read models are full size.
    tail = [m for m in marks if m[0] >= total * 0.95] or marks[-1:]
    before = max((m for m in marks if m[0] < tail[0][0]), default=(0, tail[0][1]))
    n, seconds = tail[-1][0] - before[0], tail[-1][1] - before[1]
    out["incremental_events_per_s"] = n / seconds if seconds > 0 else None
    say(f"projector catch-up, last {n:,} events: {out['incremental_events_per_s'] or 0:,.0f} events/s")
    reference_s, differing = await _reference(store)
    out |= {
        "reference_s": reference_s,
        "reference_events_per_s": total / reference_s,
        "reference_rows_differing": differing,
    }
    say(
        f"reference INSERT … SELECT (stage visits only): {reference_s:.1f} s"
        f" ({out['reference_events_per_s']:,.0f} events/s); projector rebuild / reference ="
        f" {reference_s / rebuilt.seconds:.2f}x; rows differing from the projector's: {differing}"
    )

    async with store.pool.connection() as conn:  # the history thins out after its last lead
        cur = await conn.execute("SELECT max(opened_at) FROM rm_opportunities")
        row = await cur.fetchone()
    assert row is not None
    last_at = row[0]
    assert isinstance(last_at, datetime), "the store holds no opportunities"
    catalog = load_catalog()
    week = (last_at - timedelta(days=last_at.weekday() + 7)).date()
    queries: dict[str, dict[str, float]] = {}
    async with store.pool.connection() as conn:
        for span, days in (("year", 365), ("month", 30)):
            period = Period(start=last_at - timedelta(days=days), end=last_at, as_of=last_at)
            calls: dict[str, Callable[[], Awaitable[Any]]] = {
                f"cycle times + time per stage, {span}": partial(cycle_time_report, conn, period),
                f"funnel, win rate, lost reasons, forecast, {span}": partial(
                    pipeline_metrics, conn, catalog, period
                ),
            }
            for name, call in calls.items():
                queries[name] = await _latency(call, repeat)
        queries["weekly sales brief"] = await _latency(
            lambda: compile_brief(conn, "week", week, week + timedelta(days=7)), repeat
        )
    for name, figures in queries.items():
        say(f"  {name:<52} p50 {figures['p50_ms']:8.1f} ms   p95 {figures['p95_ms']:8.1f} ms")
    out["queries"] = queries
    return out


SERVICE_PREFIX = "svc-"


async def _caught_up(store: EventStore) -> bool:
    async with store.pool.connection() as conn:
        return (await projector_lag(conn)).caught_up


async def _wait_caught_up(store: EventStore) -> float:
    started = time.perf_counter()
    while not await _caught_up(store):  # noqa: ASYNC110 - timing the projector from outside
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def measure_service(url: str, appends: int = 50, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Two service instances on a fresh database of the server at `url`: append `appends` small
    batches one at a time, each followed by the wait until the read models hold it; then kill the
    leader's connection, append one more and time until the standby has projected it."""
    from bench.history import history
    from runtime.databases import database_on

    url = await database_on(url, "dealflow_bench_service", fresh=True)  # events and read models empty
    store = await EventStore.open(url)
    streams = list(history(appends * 40, seed=5, prefix=SERVICE_PREFIX))
    instances = [await EventStore.open(url, max_size=2) for _ in range(2)]
    services = [ProjectorService(s, poll_s=3_600, retry_s=1.0) for s in instances]
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        while not any(s.leading for s in services):  # noqa: ASYNC110 - no event to wait on
            await asyncio.sleep(0.01)
        waits = []
        for events in streams[:appends]:
            await store.append(events)
            waits.append(await _wait_caught_up(store) * 1000)
        async with store.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s::int::oid"
                " AND objid = hashtext(current_schema())::oid AND objsubid = 2",
                (LEADER_LOCK,),
            )
            row = await cur.fetchone()
            assert row is not None
            started = time.perf_counter()
            await conn.execute("SELECT pg_terminate_backend(%s)", (row[0],))
        await store.append(streams[appends])
        await _wait_caught_up(store)
        takeover = time.perf_counter() - started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in instances:
            await s.close()
        await store.close()
    visible = p50_p95(waits)
    say(
        f"projector service: events in the read models {visible['p50_ms']:.1f} ms after their"
        f" append (p50; p95 {visible['p95_ms']:.1f} ms, {appends} appends); leader's connection"
        f" killed: the standby projected the next append {takeover:.2f} s later (retry every 1 s)"
    )
    return {"appends": appends, "visible": visible, "takeover_s": takeover}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded PostgreSQL")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--service", action="store_true", help="the projector service's figures only")
    args = parser.parse_args()
    from runtime.embedded import endpoints
    from runtime.settings import Settings

    async with endpoints(Settings.from_env(), temporal=False) as ep:
        if args.service:
            await measure_service(args.database_url or ep.database_url)
            return
        store = await EventStore.open(args.database_url or ep.database_url)
        try:
            await measure(store, args.repeat)
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
