"""The activity that appends a workflow's new events to the PostgreSQL event store.

Two kinds of failure, told apart: events PostgreSQL refuses as data (a NUL character, a value it
cannot hold, a constraint) or that contradict what is stored can never be stored, so they fail for
good (non-retryable) and the workflow refuses the command that made them; anything else (the server
down, a connection lost, a timeout) is trouble that passes, and Temporal retries it with backoff.
"""

import psycopg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.approval_notices import put_approval_notices
from store.event_store import EventConflictError, EventStore
from workflows.messages import APPEND_EVENTS, EventBatch

log = structlog.get_logger(__name__)


class EventStoreActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name=APPEND_EVENTS)
    async def append_events(self, batch: EventBatch) -> int:
        """Store the batch; events already stored (a retry) are skipped. Returns how many were new."""
        try:
            result = await self._store.append(batch.events)
        except EventConflictError as err:
            # Retrying cannot help: the store disagrees with the workflow about history.
            raise ApplicationError(str(err), type="EventConflict", non_retryable=True) from err
        except (psycopg.DataError, psycopg.IntegrityError) as err:
            log.error("events refused", error=str(err), types=[e.type for e in batch.events])
            raise ApplicationError(
                f"PostgreSQL refuses them: {str(err).splitlines()[0]}",
                type="EventRefused",
                non_retryable=True,
            ) from err
        await put_approval_notices(self._store, batch.events)  # also on a retry: stored at most once
        info = activity.info()
        log.info(
            "events appended",
            workflow_id=info.workflow_id,
            attempt=info.attempt,
            stored=result.stored,
            already_present=result.already_present,
            types=[e.type for e in batch.events],
        )
        return result.stored
