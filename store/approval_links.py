"""Approval links used (domain/approval_links.py): a link pair is used at most once.

A use is claimed before the decision is sent and released if the decision did not go through
(refused, or a server down), so "used" means "decided by it". Two uses at once: the primary key
lets one claim win; the other finds the link used.
"""

from store.event_store import EventStore


async def claim_use(
    store: EventStore, digest: bytes, person: str, stream_id: str, request_id: str, approve: bool
) -> bool:
    """Mark the link pair used; False when it had been already."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO approval_link_uses (digest, person, stream_id, request_id, approve)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (digest) DO NOTHING",
            (digest, person, stream_id, request_id, approve),
        )
        return cur.rowcount == 1


async def release_use(store: EventStore, digest: bytes) -> None:
    """Its decision did not go through: the link works again (until it expires)."""
    async with store.pool.connection() as conn:
        await conn.execute("DELETE FROM approval_link_uses WHERE digest = %s", (digest,))


async def was_used(store: EventStore, digest: bytes) -> bool:
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM approval_link_uses WHERE digest = %s", (digest,))
        return await cur.fetchone() is not None
