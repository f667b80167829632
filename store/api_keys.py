"""Service accounts' API keys, kept as hashes (migration 10).

A key is `dfk_<key id>_<secret>`: the id is public (listed, named in the audit log), the secret is
shown once when the key is made and only its SHA-256 is stored. A secret of 256 random bits needs
no slow hash: nobody can guess one from its digest. Revoking keeps the row, so an old audit line
still names a key that existed.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.event_store import EventStore


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    service: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


_COLUMNS = "key_id, service, scopes, created_by, created_at, revoked_at"


def _key(row: Any) -> ApiKey:
    key_id, service, scopes, created_by, created_at, revoked_at = row
    return ApiKey(str(key_id), str(service), tuple(scopes), str(created_by), created_at, revoked_at)


async def insert_api_key(
    store: EventStore, key_id: str, service: str, secret_sha256: bytes, scopes: tuple[str, ...], by: str
) -> ApiKey:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO api_keys (key_id, service, secret_sha256, scopes, created_by)"
            f" VALUES (%s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (key_id, service, secret_sha256, list(scopes), by),
        )
        return _key(await cur.fetchone())


async def find_api_key(store: EventStore, key_id: str) -> tuple[ApiKey, bytes] | None:
    """The key and its secret's digest, revoked or not; None for an id never issued."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_COLUMNS}, secret_sha256 FROM api_keys WHERE key_id = %s", (key_id,)
        )
        row = await cur.fetchone()
    return None if row is None else (_key(row[:6]), bytes(row[6]))  # type: ignore[call-overload]


async def list_api_keys(store: EventStore, *, include_revoked: bool = False) -> list[ApiKey]:
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE %s OR revoked_at IS NULL ORDER BY service, created_at",
            (include_revoked,),
        )
        return [_key(row) for row in await cur.fetchall()]


async def revoke_api_key(store: EventStore, key_id: str) -> ApiKey | None:
    """Revoke the key (once: a revoked key keeps its first revocation time); None if unknown."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s"
            f" RETURNING {_COLUMNS}",
            (key_id,),
        )
        row = await cur.fetchone()
    return None if row is None else _key(row)
