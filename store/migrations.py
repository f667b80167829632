"""The event store schema, applied automatically and in order, once, whoever gets there first."""

from typing import Any

from psycopg import AsyncConnection

from store.migration_ddl import FIRST_MIGRATIONS

# Each entry is one migration; append new ones here, never edit applied ones (the first twelve are
# in store/migration_ddl.py).
MIGRATIONS: tuple[str, ...] = (*FIRST_MIGRATIONS,)

# Any constant will do: it names the lock that serialises migrations across processes.
_MIGRATION_LOCK = 7_301_001


async def migrate(conn: AsyncConnection[Any]) -> int:
    """Apply the migrations this database lacks; return the schema version now in place."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS dealflow_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM dealflow_migrations")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for version, ddl in enumerate(MIGRATIONS[current:], start=current + 1):
            await conn.execute(ddl)
            await conn.execute("INSERT INTO dealflow_migrations (version) VALUES (%s)", (version,))
    return len(MIGRATIONS)
