"""The notification outbox: every reminder, escalation, approval request and revisit task is a row
of the `notifications` table, delivered from there by the worker's dispatcher
(runtime/outbox_dispatcher.py, its state in store/outbox_delivery.py). Each row is keyed by the
event that caused it (and the recipient, where one event tells several people), so storing the
same notification twice (a retried activity) keeps one. A new row wakes the dispatcher (NOTIFY on
`OUTBOX_CHANNEL`, sent when the row commits)."""

import json
from collections.abc import Mapping

from store.event_store import EventStore

OUTBOX_CHANNEL = "dealflow_notifications"


async def put(
    store: EventStore,
    key: str,
    recipient: str,
    kind: str,
    stream_id: str,
    message: str,
    details: Mapping[str, object] | None = None,
) -> bool:
    """Store a notification; False when one with this key was stored already."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO notifications (key, recipient, kind, stream_id, message, details)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (key, recipient, kind, stream_id, message, json.dumps(dict(details or {}))),
        )
        fresh = cur.rowcount == 1
        if fresh:
            await conn.execute("SELECT pg_notify(%s, '')", (OUTBOX_CHANNEL,))
        return fresh
