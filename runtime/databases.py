"""Databases of their own on a PostgreSQL server: the demo's and the benchmarks', kept apart from the
store a worker uses, so that neither ever mixes its streams, read models or outbox rows with real ones."""

from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


async def database_on(server_url: str, name: str, *, fresh: bool = False) -> str:
    """The URL of database `name` on the server of `server_url`, created if missing.

    `fresh` drops it first (closing its connections), for a run that starts from nothing.
    """
    async with await AsyncConnection.connect(server_url, autocommit=True) as conn:
        if fresh:
            await conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if await cur.fetchone() is None:
            await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(server_url, dbname=name)


def database_name(url: str) -> str:
    """The database a connection string names (the server's default when it names none)."""
    params = conninfo_to_dict(url)
    return str(params.get("dbname") or params.get("user") or "postgres")
