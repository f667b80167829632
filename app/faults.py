"""Infrastructure faults as `Unavailable` errors, at the application's edge.

The commands translate Temporal's answers where they make them (app/deal_client.py, with the
request id to retry with); this catches what any other path meets: PostgreSQL going away under a
report (psycopg's OperationalError, the pool's timeout), Temporal failing under a listing or a
schedule. A user sees one line naming the server, never a driver's traceback.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import PoolTimeout
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from app.errors import Unreachable
from app.temporal_calls import unavailable


@asynccontextmanager
async def postgres_faults(where: Callable[[], str]) -> AsyncIterator[None]:
    """`where` says where the store is when a fault is met (it is known only once opened)."""
    try:
        yield
    except PoolTimeout as err:
        raise Unreachable("PostgreSQL", where(), f"no connection within the pool's timeout ({err})") from None
    except psycopg.OperationalError as err:
        raise Unreachable("PostgreSQL", where(), first_line(err)) from None


@asynccontextmanager
async def temporal_faults(address: str) -> AsyncIterator[None]:
    """Temporal errors other than NOT_FOUND (which each caller answers in its own words)."""
    try:
        yield
    except (RPCError, RPCTimeoutOrCancelledError) as err:
        if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
            raise
        raise unavailable(address, err, None) from None


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
