"""A worker in a process of its own, for the benchmarks (RSS, 1 vs 2 processes):

    python -m bench.worker_process dealflow|bare TEMPORAL_ADDRESS DATABASE_URL TASK_QUEUE

Prints `ready` once it polls, and stops on SIGTERM. It logs warnings and errors only (to stderr),
as the bare worker does: the benchmark compares the engines, not log volume.
"""

import asyncio
import logging
import signal
import sys

from temporalio.worker import Worker

from bench.bare import BareLifecycle, bare_step
from bench.workload import bench_catalog
from runtime.logging_setup import configure_logging
from runtime.settings import Settings
from runtime.temporal_client import connect, create_worker
from runtime.temporal_config import temporal_target
from store.event_store import EventStore


async def main(kind: str, address: str, database_url: str, task_queue: str) -> None:
    configure_logging(logging.WARNING)
    # The parent's address, secured as the environment says (TLS, API key: runtime/temporal_config.py).
    client = await connect(temporal_target(Settings(temporal_address=address)))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    store = await EventStore.open(database_url)
    try:
        if kind == "bare":
            worker = Worker(client, task_queue=task_queue, workflows=[BareLifecycle], activities=[bare_step])
        else:
            # The worker's catalog is the rules (clients only name a pipeline): the benchmark's own,
            # without the contract review, so a lifecycle is one move per stage like the bare one.
            worker = create_worker(client, store, task_queue, catalog=bench_catalog())
        async with worker:
            print("ready", flush=True)
            await stop.wait()
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
