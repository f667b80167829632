"""The notification outbox: other systems (mail, chat) read and deliver from the `notifications`
table. Each row is keyed by the event that caused it, so storing the same notification twice (a
retried activity) keeps one."""

from store.event_store import EventStore


async def put(store: EventStore, key: str, recipient: str, kind: str, stream_id: str, message: str) -> bool:
    """Store a notification; False when one with this key was stored already."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO notifications (key, recipient, kind, stream_id, message)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING",
            (key, recipient, kind, stream_id, message),
        )
        return cur.rowcount == 1
