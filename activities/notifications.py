"""Notifications through one activity. The default delivery is a structured log line plus a row
in the PostgreSQL `notifications` outbox, which the worker's dispatcher delivers by mail and
webhook (runtime/outbox_dispatcher.py). Sending the same notification twice (a retried activity)
stores it once. A message PostgreSQL cannot hold fails for good; a database that is down is retried.
"""

from typing import Protocol

import psycopg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from store import outbox
from store.event_store import EventStore
from workflows.messages import NOTIFY, Notification

log = structlog.get_logger(__name__)


class Notifier(Protocol):
    async def send(self, notification: Notification) -> bool:
        """Deliver it; False when it had been delivered already."""
        ...


class OutboxNotifier:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def send(self, notification: Notification) -> bool:
        fresh = await outbox.put(
            self._store,
            notification.key,
            notification.recipient,
            notification.kind,
            notification.stream_id,
            notification.message,
        )
        log.info("notification", fresh=fresh, **notification.model_dump())
        return fresh


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn(name=NOTIFY)
    async def notify(self, notification: Notification) -> bool:
        try:
            return await self._notifier.send(notification)
        except psycopg.DataError as err:  # a text the outbox cannot hold: retrying cannot help
            log.error("notification refused", key=notification.key, error=str(err))
            raise ApplicationError(str(err), type="NotificationRefused", non_retryable=True) from err
