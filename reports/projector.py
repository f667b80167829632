"""The catch-up projector: keeps the read models (`rm_*` tables) up to date from the event store.

It reads events in `position` order after its checkpoint, a batch at a time, and writes the rows they
cause and the new checkpoint in one transaction: a batch is projected exactly once, and the projector
can be stopped at any moment and resumed (or run in several processes: batches serialise on a lock).
It never skips a late commit: appends hold a transaction lock while they insert (event_store.py), so
positions become visible strictly in order and "after position N" is complete once N is visible.

`rebuild()` empties the read models and projects every event again; the result is identical, row
for row, to what incremental catch-up produced (tests/test_projector.py checks it under concurrent
writers).

Read models:
- rm_opportunities  one row per opportunity (pipeline, owner, company, when opened)
- rm_stage_visits   one row per visit of a stage: entered, exited, how it ended (advanced / lost)
- rm_amounts        the amount of each opportunity from a moment on (lead, revised quotes)
- rm_losses         every loss with its stage and reason
- rm_first_entries  the first entry of each stage per opportunity (cycle times, funnel, brief)
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.stages import STAGE_ORDER, Stage
from reports.stage_moves import STAGE_MOVE_TYPES
from store.event_store import EventStore

NAME = "read_models"
READ_MODELS = ("rm_opportunities", "rm_stage_visits", "rm_amounts", "rm_losses", "rm_first_entries")
_LOCK = 7_301_003  # serialises projector batches across processes
DEFAULT_BATCH = 5_000


@dataclass
class _Visit:
    opportunity_id: str
    visit_no: int
    stage: str
    pipeline: str
    owner: str
    entered_at: datetime
    exited_at: datetime | None = None
    exit: str | None = None
    reentry: bool = False

    def row(self) -> tuple[object, ...]:
        return (
            self.opportunity_id,
            self.visit_no,
            self.stage,
            self.pipeline,
            self.owner,
            self.entered_at,
            self.exited_at,
            self.exit,
            self.reentry,
        )


@dataclass
class _FirstEntry:
    opportunity_id: str
    stage: str
    entered_at: datetime
    version: int
    pipeline: str
    owner: str
    opened_at: datetime
    contact_at: datetime | None
    next_entered_at: datetime | None = None

    def row(self) -> tuple[object, ...]:
        return (
            self.opportunity_id,
            self.stage,
            self.entered_at,
            self.version,
            self.pipeline,
            self.owner,
            self.opened_at,
            self.contact_at,
            self.next_entered_at,
        )


@dataclass
class _Batch:
    """The rows one batch of events causes, worked out in memory, written in a few statements.
    Rows new in this batch are completed in memory; rows of earlier batches get UPDATEs."""

    opportunities: list[tuple[object, ...]] = field(default_factory=list)
    visits: dict[tuple[str, int], _Visit] = field(default_factory=dict)
    closed: list[tuple[object, ...]] = field(default_factory=list)  # visits of earlier batches
    amounts: list[tuple[object, ...]] = field(default_factory=list)
    losses: list[list[object]] = field(default_factory=list)  # the last item: reopened_at
    open_losses: dict[str, list[object]] = field(default_factory=dict)  # this batch's, by opportunity
    reopened: list[tuple[object, ...]] = field(default_factory=list)  # losses of earlier batches
    entries: dict[tuple[str, str], _FirstEntry] = field(default_factory=dict)
    moved_on: list[tuple[object, ...]] = field(default_factory=list)  # first entries of earlier batches


@dataclass(frozen=True)
class CatchUpResult:
    events: int  # events read (every type)
    position: int  # the checkpoint now
    seconds: float


class Projector:
    def __init__(self, store: EventStore, batch_size: int = DEFAULT_BATCH) -> None:
        self._store = store
        self._batch_size = batch_size

    async def checkpoint(self) -> int:
        async with self._store.pool.connection() as conn:
            return await _checkpoint(conn)

    async def catch_up(
        self, *, max_batches: int | None = None, on_batch: Callable[[int, int], None] = lambda n, pos: None
    ) -> CatchUpResult:
        """Project every event committed so far (or `max_batches` batches); return what was done."""
        started, total, batches = time.perf_counter(), 0, 0
        position = await self.checkpoint()
        while max_batches is None or batches < max_batches:
            n, position = await self._project_batch()
            if n == 0:
                break
            total, batches = total + n, batches + 1
            on_batch(total, position)
        return CatchUpResult(total, position, time.perf_counter() - started)

    async def rebuild(self, on_batch: Callable[[int, int], None] = lambda n, pos: None) -> CatchUpResult:
        """Empty the read models, project every event from the first, and ANALYZE them (without
        statistics the planner misjudges the refilled tables: the weekly brief took 10x longer)."""
        async with self._store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            await conn.execute(f"TRUNCATE {', '.join(READ_MODELS)}")
            await conn.execute("DELETE FROM projector_checkpoints WHERE name = %s", (NAME,))
        result = await self.catch_up(on_batch=on_batch)
        async with self._store.pool.connection() as conn:  # fresh tables: give the planner their shape
            await conn.execute(f"ANALYZE {', '.join(READ_MODELS)}")
        return result

    async def _project_batch(self) -> tuple[int, int]:
        async with self._store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            after = await _checkpoint(conn)
            cur = await conn.execute(
                "SELECT position, stream_id, version, type, occurred_at, payload::text FROM events"
                " WHERE position > %s ORDER BY position LIMIT %s",
                (after, self._batch_size),
            )
            events = await cur.fetchall()
            if not events:
                return 0, after
            last = int(events[-1][0])  # type: ignore[call-overload]
            moves = [e for e in events if e[3] in STAGE_MOVE_TYPES]
            if moves:
                await _write(conn, await _rows(conn, moves))
            await conn.execute(
                "INSERT INTO projector_checkpoints (name, position) VALUES (%s, %s) ON CONFLICT (name)"
                " DO UPDATE SET position = excluded.position, updated_at = clock_timestamp()",
                (NAME, last),
            )
            return len(events), last


async def _checkpoint(conn: AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT position FROM projector_checkpoints WHERE name = %s", (NAME,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _rows(conn: AsyncConnection[Any], moves: list[tuple[Any, ...]]) -> _Batch:
    ids = sorted({str(m[1]) for m in moves})
    # Where each opportunity stands after earlier batches: its last visit, who owns it, and the
    # stages it has entered before.
    cur = await conn.execute(
        "SELECT DISTINCT ON (v.opportunity_id) v.opportunity_id, v.visit_no, v.exited_at IS NULL,"
        " v.pipeline, v.owner FROM rm_stage_visits v WHERE v.opportunity_id = ANY(%s)"
        " ORDER BY v.opportunity_id, v.visit_no DESC",
        (ids,),
    )
    last: dict[str, tuple[int, bool]] = {}
    owners: dict[str, tuple[str, str]] = {}
    for oid, visit_no, is_open, pipeline, owner in await cur.fetchall():
        last[oid], owners[oid] = (visit_no, is_open), (pipeline, owner)
    cur = await conn.execute(
        "SELECT opportunity_id, stage, entered_at FROM rm_first_entries WHERE opportunity_id = ANY(%s)",
        (ids,),
    )
    firsts: dict[tuple[str, str], datetime] = {(oid, stage): at for oid, stage, at in await cur.fetchall()}
    out = _Batch()
    for _, oid, version, kind, at, payload_text in moves:
        payload = json.loads(payload_text)
        number, is_open = last.get(oid, (0, False))
        if kind == "OpportunityOpened":
            owners[oid] = (payload["pipeline"], payload["owner"])
            out.opportunities.append((oid, payload["pipeline"], payload["owner"], payload["company"], at))
            out.amounts.append((oid, at, version, Decimal(payload["amount"])))
        pipeline, owner = owners[oid]
        if kind in ("StageAdvanced", "OpportunityLost") and is_open:  # the current visit ends
            how = "advanced" if kind == "StageAdvanced" else "lost"
            if (visit := out.visits.get((oid, number))) is not None:
                visit.exited_at, visit.exit = at, how
            else:
                out.closed.append((at, how, oid, number))
            is_open = False
        if kind == "OpportunityLost":
            loss: list[object] = [
                oid,
                version,
                at,
                payload["stage"],
                payload["reason"],
                pipeline,
                owner,
                None,
            ]
            out.losses.append(loss)
            out.open_losses[oid] = loss
            last[oid] = (number, is_open)
            continue
        # opened, advanced, reopened: a visit begins
        if kind == "OpportunityReopened":
            if (undone := out.open_losses.pop(oid, None)) is not None:
                undone[-1] = at
            else:
                out.reopened.append((at, oid))
        stage = payload.get("to_stage") or payload.get("stage") or "identify"
        number, is_open = number + 1, True
        out.visits[(oid, number)] = _Visit(
            oid, number, stage, pipeline, owner, at, reentry=kind == "OpportunityReopened"
        )
        if kind == "StageAdvanced" and payload.get("amount") is not None:
            out.amounts.append((oid, at, version, Decimal(payload["amount"])))
        if (oid, stage) not in firsts:
            _first_entry(out, firsts, oid, stage, at, version, pipeline, owner)
        last[oid] = (number, is_open)
    return out


def _first_entry(
    out: _Batch,
    firsts: dict[tuple[str, str], datetime],
    oid: str,
    stage: str,
    at: datetime,
    version: int,
    pipeline: str,
    owner: str,
) -> None:
    firsts[(oid, stage)] = at
    position = Stage(stage).position
    previous = STAGE_ORDER[position - 1].value if position else None
    out.entries[(oid, stage)] = _FirstEntry(
        oid,
        stage,
        at,
        version,
        pipeline,
        owner,
        opened_at=firsts.get((oid, Stage.IDENTIFY.value), at),
        contact_at=firsts.get((oid, Stage.CONTACT.value)),
    )
    if previous is None:
        return
    if (entry := out.entries.get((oid, previous))) is not None:
        entry.next_entered_at = at
    else:
        out.moved_on.append((at, oid, previous))


async def _write(conn: AsyncConnection[Any], batch: _Batch) -> None:
    async with conn.cursor() as cur:
        if batch.closed:
            await cur.executemany(
                "UPDATE rm_stage_visits SET exited_at = %s, exit = %s"
                " WHERE opportunity_id = %s AND visit_no = %s",
                batch.closed,
            )
        if batch.reopened:  # only an opportunity's last loss can be open
            await cur.executemany(
                "UPDATE rm_losses SET reopened_at = %s WHERE opportunity_id = %s AND reopened_at IS NULL",
                batch.reopened,
            )
        if batch.moved_on:
            await cur.executemany(
                "UPDATE rm_first_entries SET next_entered_at = %s WHERE opportunity_id = %s AND stage = %s",
                batch.moved_on,
            )
        await _copy(
            cur, "rm_opportunities (opportunity_id, pipeline, owner, company, opened_at)", batch.opportunities
        )
        await _copy(
            cur,
            "rm_stage_visits (opportunity_id, visit_no, stage, pipeline, owner, entered_at, exited_at, exit,"
            " reentry)",
            [v.row() for v in batch.visits.values()],
        )
        await _copy(cur, "rm_amounts (opportunity_id, since, version, amount)", batch.amounts)
        await _copy(
            cur,
            "rm_losses (opportunity_id, version, lost_at, stage, reason, pipeline, owner, reopened_at)",
            [tuple(loss) for loss in batch.losses],
        )
        await _copy(
            cur,
            "rm_first_entries (opportunity_id, stage, entered_at, version, pipeline, owner, opened_at,"
            " contact_at, next_entered_at)",
            [e.row() for e in batch.entries.values()],
        )


async def _copy(cur: Any, target: str, rows: list[tuple[object, ...]]) -> None:
    if rows:
        async with cur.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                await copy.write_row(row)


_ORDER = {
    "rm_opportunities": "opportunity_id",
    "rm_stage_visits": "opportunity_id, visit_no",
    "rm_amounts": "opportunity_id, version",
    "rm_losses": "opportunity_id, version",
    "rm_first_entries": "opportunity_id, stage",
}


async def dump_read_models(store: EventStore) -> bytes:
    """Every read model's rows in key order, as PostgreSQL's COPY text: equal dumps, equal models."""
    out = bytearray()
    async with store.pool.connection() as conn, conn.cursor() as cur:
        for table in READ_MODELS:
            out += f"-- {table}\n".encode()
            async with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY {_ORDER[table]}) TO STDOUT") as copy:
                async for chunk in copy:
                    out += chunk
    return bytes(out)
