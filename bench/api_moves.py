"""Deals moved through the HTTP API against the same moves through the Python client, in the same
run, on the same worker: what the API adds (target: >= 0.8x the client's throughput, p95 added
latency per move under 20 ms).

    python -m bench.api_moves [--lifecycles 40] [--rounds 2]

A Temporal dev server of its own (the API serves the task queue `dealflow`, so no other worker may
poll it there), one dealflow worker process, `dealflow serve` in a process of its own (as deployed),
and this process driving both: A/B rounds of `lifecycles` deals each, opened and moved through every
stage, `workload.CONCURRENCY` at a time. PostgreSQL: DATABASE_URL's server, else the embedded one.
"""

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from app.bootstrap import open_dealflow
from app.deal_client import DealClient
from bench import workload
from bench.history import all_facts
from domain.commands import AdvanceStage, OpenOpportunity
from domain.stages import STAGE_ORDER
from runtime.databases import database_on
from runtime.embedded import endpoints
from runtime.settings import TASK_QUEUE, Settings
from runtime.temporal_client import in_memory_dev_server

DATABASE = "dealflow_bench"
SOLO = 3  # lifecycles per kind and round driven one at a time, for the latency the path adds
OWNER = "an.li"
Move = Callable[[str, int], Awaitable[None]]  # (deal id, step: 0 opens, then one stage each)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def api_process(env: dict[str, str]) -> AsyncIterator[str]:
    """`dealflow serve` on a free port; its URL once it answers."""
    port = _free_port()
    dealflow = str(Path(sys.executable).with_name("dealflow"))
    process = await asyncio.create_subprocess_exec(
        dealflow, "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client, asyncio.timeout(60):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def lifecycles(
    move: Move, n: int, latencies: list[float], concurrency: int = workload.CONCURRENCY
) -> float:
    """n deals, each opened and moved through every stage, `concurrency` at a time; seconds taken.
    Each move's latency (ms) is appended to `latencies`."""
    run = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(concurrency)

    async def one(oid: str) -> None:
        async with gate:
            for step in range(len(STAGE_ORDER)):
                started = time.perf_counter()
                await move(oid, step)
                latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(f"apib-{run}-{i}") for i in range(n)))
    return time.perf_counter() - started


def python_moves(deals: DealClient, facts: dict[str, str]) -> Move:
    async def move(oid: str, step: int) -> None:
        if step == 0:
            await deals.open(
                OpenOpportunity(
                    opportunity_id=oid,
                    pipeline="software",
                    owner=OWNER,
                    company="Acme",
                    contact_person="Wang Li",
                    source="web",
                    amount=Decimal(100_000),
                    actor=OWNER,
                )
            )
        else:
            await deals.advance(oid, AdvanceStage(to_stage=STAGE_ORDER[step], facts=facts, actor=OWNER))

    return move


def api_moves(client: httpx.AsyncClient, facts: dict[str, str]) -> Move:
    async def move(oid: str, step: int) -> None:
        if step == 0:
            body: dict[str, Any] = {
                "opportunity_id": oid,
                "pipeline": "software",
                "company": "Acme",
                "contact_person": "Wang Li",
                "source": "web",
                "amount": 100_000,
            }
            response = await client.post("/v1/opportunities", json=body)
        else:
            body = {"to_stage": STAGE_ORDER[step].value, "facts": facts}
            response = await client.post(f"/v1/opportunities/{oid}/advance", json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"{response.status_code}: {response.text}")

    return move


def _p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]
    )


async def measure(
    database_url: str, n: int, rounds: int, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """The API against the Python client: A/B rounds of n lifecycles each."""
    async with await in_memory_dev_server() as env:
        address = env.client.service_client.config.target_host
        with tempfile.TemporaryDirectory(prefix="dealflow-api-bench-") as data_dir:
            settings = Settings(temporal_address=address, database_url=database_url, data_dir=Path(data_dir))
            process_env = {
                **os.environ,
                "TEMPORAL_ADDRESS": address,
                "DATABASE_URL": database_url,
                "DEALFLOW_DATA_DIR": data_dir,
            }
            process_env.pop("DEALFLOW_DATABASE", None)
            async with (
                workload.worker_processes("dealflow", 1, address, database_url, TASK_QUEUE),
                api_process(process_env) as url,
                open_dealflow(settings) as dealflow,
            ):
                token = (await dealflow.identity()).mint_token(OWNER)
                facts = all_facts(workload.bench_catalog().get("software"))
                limits = httpx.Limits(
                    max_connections=workload.CONCURRENCY, max_keepalive_connections=workload.CONCURRENCY
                )
                headers = {"Authorization": f"Bearer {token}"}
                async with httpx.AsyncClient(
                    base_url=url, headers=headers, limits=limits, timeout=60
                ) as http:
                    kinds = {
                        "python": python_moves(await dealflow.deals(), facts),
                        "api": api_moves(http, facts),
                    }
                    latencies: dict[str, list[float]] = {k: [] for k in kinds}
                    alone: dict[str, list[float]] = {k: [] for k in kinds}
                    seconds = dict.fromkeys(kinds, 0.0)
                    for move in kinds.values():  # warm both up
                        await lifecycles(move, 2, [])
                    for r in range(rounds):
                        for kind, move in kinds.items():
                            seconds[kind] += await lifecycles(move, n, latencies[kind])
                            # latency without queueing: one deal at a time
                            await lifecycles(move, SOLO, alone[kind], concurrency=1)
                        say(f"  round {r + 1}/{rounds}: {n} lifecycles each, {SOLO} one at a time")
    total = n * rounds
    out: dict[str, Any] = {"lifecycles": total, "moves_per_lifecycle": len(STAGE_ORDER)}
    for kind in kinds:
        lat = latencies[kind]
        out[kind] = {
            "seconds": seconds[kind],
            "lifecycles_per_s": total / seconds[kind],
            "moves_per_s": total * len(STAGE_ORDER) / seconds[kind],
            "move_p50_ms": _p(lat, 50),  # at CONCURRENCY deals in flight: queueing included
            "move_p95_ms": _p(lat, 95),
            "solo_p50_ms": _p(alone[kind], 50),  # one deal at a time: the path's own latency
            "solo_p95_ms": _p(alone[kind], 95),
        }
        f = out[kind]
        say(
            f"  {kind:<7} {f['lifecycles_per_s']:6.2f} lifecycles/s  {f['moves_per_s']:6.1f} moves/s"
            f"  move p50 {f['move_p50_ms']:6.1f} ms  p95 {f['move_p95_ms']:6.1f} ms"
            f"  (one at a time: p50 {f['solo_p50_ms']:5.1f} ms  p95 {f['solo_p95_ms']:5.1f} ms)"
        )
    out["ratio"] = out["api"]["lifecycles_per_s"] / out["python"]["lifecycles_per_s"]
    for q in ("p50", "p95"):
        out[f"added_{q}_ms"] = out["api"][f"solo_{q}_ms"] - out["python"][f"solo_{q}_ms"]
        out[f"added_{q}_ms_loaded"] = out["api"][f"move_{q}_ms"] - out["python"][f"move_{q}_ms"]
    say(f"  API / Python client = {out['ratio']:.2f}x (target >= 0.8x)")
    say(
        f"  added latency per move, one deal at a time: p50 {out['added_p50_ms']:+.1f} ms,"
        f" p95 {out['added_p95_ms']:+.1f} ms (target < 20); at {workload.CONCURRENCY} in flight:"
        f" p50 {out['added_p50_ms_loaded']:+.1f} ms, p95 {out['added_p95_ms_loaded']:+.1f} ms"
    )
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=40, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    async with endpoints(Settings.from_env(), temporal=False) as ep:
        url = await database_on(ep.database_url, DATABASE)
        await measure(url, args.lifecycles, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
