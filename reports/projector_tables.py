"""How the projector's modules write their read models: tables declared once (columns, key), rows
added with COPY, rows of earlier batches changed as whole groups (one DELETE and one COPY per table
and batch, never a statement per event), and a dump of every table in key order for the tests."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection, AsyncCursor


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the primary key: row identity, and the order of dumps

    @classmethod
    def of(cls, name: str, columns: str, key: str) -> "Table":
        """A table from its column names and key columns, each space-separated."""
        return cls(name, tuple(columns.split()), tuple(key.split()))

    @property
    def target(self) -> str:
        return f"{self.name} ({', '.join(self.columns)})"


async def copy_rows(cur: AsyncCursor[Any], table: Table, rows: Iterable[Sequence[object]]) -> None:
    rows = list(rows)
    if rows:
        async with cur.copy(f"COPY {table.target} FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row)


@dataclass
class Groups:
    """The rows of a read model that one batch may change, by group (a discount request's levels,
    a relationship's revisits): loaded in one query, changed in memory, and every changed group
    written back whole. Groups are small, so rewriting one costs less than a statement per event."""

    table: Table
    group: str  # the column that groups the rows; the first column of the key
    rows: dict[tuple[object, ...], list[object]] = field(default_factory=dict)
    _stored: set[object] = field(default_factory=set)
    _dirty: set[object] = field(default_factory=set)

    async def load(self, conn: AsyncConnection[Any], groups: Iterable[object]) -> None:
        wanted = sorted({g for g in groups if g not in self._stored}, key=str)
        if not wanted:
            return
        cur = await conn.execute(
            f"SELECT {', '.join(self.table.columns)} FROM {self.table.name} WHERE {self.group} = ANY(%s)",
            (wanted,),
        )
        for row in await cur.fetchall():
            self.rows[self._key(row)] = list(row)
        self._stored.update(wanted)

    def get(self, *key: object) -> list[object] | None:
        return self.rows.get(key)

    def put(self, row: list[object]) -> list[object]:
        key = self._key(row)
        self.rows[key] = row
        self._dirty.add(key[0])
        return row

    def change(self, *key: object) -> list[object] | None:
        """The row to change in place (marked for writing), or None if there is none."""
        row = self.rows.get(key)
        if row is not None:
            self._dirty.add(key[0])
        return row

    def drop(self, *key: object) -> None:
        if self.rows.pop(key, None) is not None:
            self._dirty.add(key[0])

    def set(self, row: list[object], column: str, value: object) -> None:
        row[self.table.columns.index(column)] = value

    def value(self, row: list[object], column: str) -> object:
        return row[self.table.columns.index(column)]

    async def write(self, cur: AsyncCursor[Any]) -> None:
        stale = sorted((g for g in self._dirty if g in self._stored), key=str)
        if stale:
            await cur.execute(f"DELETE FROM {self.table.name} WHERE {self.group} = ANY(%s)", (stale,))
        await copy_rows(cur, self.table, (r for k, r in self.rows.items() if k[0] in self._dirty))

    def _key(self, row: Sequence[object]) -> tuple[object, ...]:
        return tuple(row[self.table.columns.index(c)] for c in self.table.key)


async def owners(conn: AsyncConnection[Any], opportunity_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(pipeline, owner) of each opportunity, as opened (the stage module has written this batch's)."""
    ids = sorted(set(opportunity_ids))
    if not ids:
        return {}
    cur = await conn.execute(
        "SELECT opportunity_id, pipeline, owner FROM rm_opportunities WHERE opportunity_id = ANY(%s)", (ids,)
    )
    return {str(oid): (str(p), str(o)) for oid, p, o in await cur.fetchall()}


async def dump(conn: AsyncConnection[Any], tables: Sequence[Table]) -> bytes:
    """Every table's rows in key order, as PostgreSQL's COPY text: equal dumps, equal models."""
    out = bytearray()
    async with conn.cursor() as cur:
        for table in tables:
            out += f"-- {table.name}\n".encode()
            rows = f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {', '.join(table.key)}"
            async with cur.copy(f"COPY ({rows}) TO STDOUT") as copy:
                async for chunk in copy:
                    out += chunk
    return bytes(out)
