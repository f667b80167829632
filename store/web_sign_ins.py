"""The web app's one-time sign-in links and signed-out sessions (web/sign_in.py).

A row is keyed by a sha256 digest: of a link's secret (the secret itself is never stored), or of
a session token's id once its holder signs out. A link is used at most once, before it expires;
a signed-out session is refused until its token would have expired anyway. Rows past their
expiry are of no use and are dropped as new ones come.
"""

from datetime import datetime

from store.event_store import EventStore

_PURGE = "DELETE FROM web_sign_ins WHERE expires_at < now() - interval '1 day'"


async def add_link(store: EventStore, digest: bytes, person: str, expires_at: datetime) -> None:
    async with store.pool.connection() as conn:
        await conn.execute(_PURGE)
        await conn.execute(
            "INSERT INTO web_sign_ins (digest, kind, person, expires_at) VALUES (%s, 'link', %s, %s)",
            (digest, person, expires_at),
        )


async def use_link(store: EventStore, digest: bytes) -> str | None:
    """The person a link signs in, marking it used; None if it is unknown, used or expired."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE web_sign_ins SET used_at = now()"
            " WHERE digest = %s AND kind = 'link' AND used_at IS NULL AND expires_at > now()"
            " RETURNING person",
            (digest,),
        )
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def sign_out(store: EventStore, digest: bytes, person: str, expires_at: datetime) -> None:
    async with store.pool.connection() as conn:
        await conn.execute(_PURGE)
        await conn.execute(
            "INSERT INTO web_sign_ins (digest, kind, person, expires_at, used_at)"
            " VALUES (%s, 'signed-out', %s, %s, now()) ON CONFLICT (digest) DO NOTHING",
            (digest, person, expires_at),
        )


async def signed_out(store: EventStore, digest: bytes) -> bool:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM web_sign_ins WHERE digest = %s AND kind = 'signed-out'", (digest,)
        )
        return await cur.fetchone() is not None
