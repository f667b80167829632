"""Workloads on a Temporal server, driven from this process against workers in their own processes:
opportunity lifecycles (dealflow and the bare ceiling), and relationships left waiting on timers."""

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from temporalio.client import Client

from app.deal_client import DealClient
from bench.bare import STAGES, BareLifecycle
from bench.history import all_facts
from domain.after_sales import DealWon, relationship_id
from domain.commands import AdvanceStage, OpenOpportunity
from domain.pipeline import PipelineCatalog, load_catalog
from domain.stages import STAGE_ORDER
from workflows.messages import StartAfterSales

CONCURRENCY = 20  # lifecycles in flight at once, for both kinds


@dataclass
class WorkerProcesses:
    processes: list[asyncio.subprocess.Process]

    def rss_mb(self) -> float:
        """Resident memory of the worker processes, summed."""
        total_kb = 0
        for p in self.processes:
            for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        return total_kb / 1024


@contextlib.asynccontextmanager
async def worker_processes(
    kind: str, count: int, address: str, database_url: str, task_queue: str
) -> AsyncIterator[WorkerProcesses]:
    """`count` worker processes of `kind` (dealflow or bare) polling `task_queue`, until the block ends."""
    command = ["-m", "bench.worker_process", kind, address, database_url, task_queue]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, *command, stdout=asyncio.subprocess.PIPE, env=env
        )
        for _ in range(count)
    ]
    try:
        for p in processes:  # `ready` is all a worker prints on stdout
            assert p.stdout is not None
            if (await p.stdout.readline()).strip() != b"ready":
                raise RuntimeError(f"{kind} worker process failed to start (exit {p.returncode})")
        yield WorkerProcesses(processes)
    finally:
        for p in processes:
            if p.returncode is None:
                p.terminate()
        for p in processes:
            await p.wait()


def bench_catalog() -> PipelineCatalog:
    """The shipped pipelines without the contract review, so a lifecycle is one move per stage like
    the bare workflow's (the review adds two updates and a clause-check activity)."""
    catalog = load_catalog()
    pipelines = {k: p.model_copy(update={"contract": None}) for k, p in catalog.pipelines.items()}
    return catalog.model_copy(update={"pipelines": pipelines})


async def _gather(ids: list[str], one: Callable[[str], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(oid: str) -> None:
        async with gate:
            await one(oid)

    await asyncio.gather(*(bounded(oid) for oid in ids))


async def dealflow_lifecycles(client: Client, task_queue: str, n: int) -> float:
    """Open n opportunities and move each through every stage; seconds taken."""
    catalog = bench_catalog()
    deals, pipeline = DealClient(client, catalog, task_queue), catalog.get("software")
    facts, run = all_facts(pipeline), uuid.uuid4().hex[:8]

    async def one(oid: str) -> None:
        await deals.open(
            OpenOpportunity(
                opportunity_id=oid,
                pipeline="software",
                owner="an.li",
                company="Acme",
                contact_person="Wang Li",
                source="web",
                amount=Decimal(100_000),
            )
        )
        for stage in STAGE_ORDER[1:]:
            await deals.advance(oid, AdvanceStage(to_stage=stage, facts=facts))

    started = time.perf_counter()
    await _gather([f"bench-{run}-{i}" for i in range(n)], one)
    return time.perf_counter() - started


async def bare_lifecycles(client: Client, task_queue: str, n: int) -> float:
    run = uuid.uuid4().hex[:8]

    async def one(oid: str) -> None:
        handle = await client.start_workflow(BareLifecycle.run, oid, id=oid, task_queue=task_queue)
        for stage in STAGES:
            await handle.execute_update(BareLifecycle.advance, stage)

    started = time.perf_counter()
    await _gather([f"bare-{run}-{i}" for i in range(n)], one)
    return time.perf_counter() - started


async def open_relationships(client: Client, task_queue: str, n: int) -> list[str]:
    """Start n after-sales relationships (each stores its first event, then sleeps until its first
    revisit, days away); their workflow ids."""
    pipeline, run = load_catalog().get("software"), uuid.uuid4().hex[:8]
    ids = []

    async def one(deal_id: str) -> None:
        deal = DealWon(
            deal_id=deal_id,
            pipeline="software",
            owner="an.li",
            customer="Acme",
            contact_person="Wang Li",
            amount=Decimal(100_000),
            won_at=datetime.now(UTC),
        )
        handle = await client.start_workflow(
            "AfterSalesWorkflow",
            StartAfterSales(deal=deal, pipeline=pipeline),
            id=relationship_id(deal_id),
            task_queue=task_queue,
        )
        ids.append(handle.id)

    await _gather([f"bench-{run}-{i}" for i in range(n)], one)
    return ids


def moves_per_lifecycle() -> int:
    return len(STAGE_ORDER)  # the opening and six moves forward
