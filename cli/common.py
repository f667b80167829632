"""What the CLI's commands share: the console, usage errors, the store and Temporal connections."""

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from rich.console import Console
from temporalio.client import Client

from runtime.embedded import DEV_SERVER_PORT, endpoints
from runtime.settings import Settings
from runtime.temporal_client import connect
from store.event_store import EventStore

console = Console()


class UsageError(Exception):
    pass


def iso_datetime(text: str) -> datetime:
    """An argparse type: an ISO date or time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r} (e.g. 2026-03-31)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[EventStore]:
    """The event store at DATABASE_URL, or the embedded PostgreSQL (started if need be)."""
    async with endpoints(settings, temporal=False) as ep:
        store = await EventStore.open(ep.database_url, max_size=1)
        try:
            yield store
        finally:
            await store.close()


async def temporal(settings: Settings) -> Client:
    address = settings.temporal_address or f"localhost:{DEV_SERVER_PORT}"
    try:
        return await connect(address, settings.temporal_namespace)
    except RuntimeError as err:
        hint = "" if settings.temporal_address else " Start it with `make worker` (or set TEMPORAL_ADDRESS)."
        raise UsageError(f"cannot reach Temporal at {address}: {err}.{hint}") from None
