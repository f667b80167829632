"""The activity that appends a workflow's new events to the PostgreSQL event store."""

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

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
