"""Run the dealflow worker: `python worker.py`.

With TEMPORAL_ADDRESS / DATABASE_URL unset it starts (or reuses) the embedded Temporal dev server
and PostgreSQL under DEALFLOW_DATA_DIR (default .dealflow/) and keeps them up while it runs.
Stop it with Ctrl-C; a killed worker loses nothing: Temporal re-delivers its unfinished work.
"""

import asyncio
import signal

import structlog

from runtime.embedded import endpoints
from runtime.logging_setup import configure_logging
from runtime.search_attributes_setup import ensure_search_attributes
from runtime.settings import Settings
from runtime.temporal_client import connect, create_worker
from store.event_store import EventStore

log = structlog.get_logger("dealflow.worker")


async def main() -> None:
    configure_logging()
    settings = Settings.from_env()
    async with endpoints(settings) as ep:
        client = await connect(ep.temporal_address, settings.temporal_namespace)
        await ensure_search_attributes(client)
        store = await EventStore.open(ep.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with create_worker(client, store, settings.task_queue):
                log.info(
                    "worker running",
                    temporal=ep.temporal_address,
                    web_ui=ep.web_ui,
                    task_queue=settings.task_queue,
                    data_dir=str(settings.data_dir),
                )
                await stop.wait()
                log.info("worker stopping")
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
