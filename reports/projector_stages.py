"""The stage read models: where each opportunity has been, and when.

- rm_opportunities  one row per opportunity (pipeline, owner, company, when opened)
- rm_stage_visits   one row per visit of a stage: entered (by which event), exited, how it ended
- rm_amounts        the amount of each opportunity from a moment on (lead, revised quotes)
- rm_losses         every loss with its stage and reason, and when it was undone by a reopen
- rm_first_entries  the first entry of each stage per opportunity (cycle times, funnel, brief)
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.stages import STAGE_ORDER, Stage
from reports import projector_fields as fields
from reports.projector_fields import StoredEvent, read
from reports.projector_tables import Table, copy_rows

STAGE_MOVE_TYPES = ("OpportunityOpened", "StageAdvanced", "OpportunityLost", "OpportunityReopened")
TYPES = frozenset(STAGE_MOVE_TYPES)

OPPORTUNITIES = Table.of(
    "rm_opportunities", "opportunity_id pipeline owner company opened_at", "opportunity_id"
)
VISITS = Table.of(
    "rm_stage_visits",
    "opportunity_id visit_no stage pipeline owner entered_at exited_at exit reentry version",
    "opportunity_id visit_no",
)
AMOUNTS = Table.of("rm_amounts", "opportunity_id since version amount", "opportunity_id version")
LOSSES = Table.of(
    "rm_losses",
    "opportunity_id version lost_at stage reason pipeline owner reopened_at",
    "opportunity_id version",
)
FIRST_ENTRIES = Table.of(
    "rm_first_entries",
    "opportunity_id stage entered_at version pipeline owner opened_at contact_at next_entered_at",
    "opportunity_id stage",
)
TABLES = (OPPORTUNITIES, VISITS, AMOUNTS, LOSSES, FIRST_ENTRIES)


@dataclass
class _Visit:
    opportunity_id: str
    visit_no: int
    stage: str
    pipeline: str
    owner: str
    entered_at: datetime
    version: int
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
            self.version,
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


async def project(conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
    await _write(conn, await _rows(conn, events))


def _stage_entered(event: StoredEvent) -> str:
    if event.type == "StageAdvanced":
        return read(event, fields.StageAdvanced)["to_stage"]
    if event.type == "OpportunityReopened":
        return read(event, fields.OpportunityReopened)["stage"]
    return Stage.IDENTIFY.value


async def _rows(conn: AsyncConnection[Any], moves: list[StoredEvent]) -> _Batch:
    ids = sorted({m.stream_id for m in moves})
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
    for move in moves:
        oid, version, kind, at = move.stream_id, move.version, move.type, move.at
        number, is_open = last.get(oid, (0, False))
        if kind == "OpportunityOpened":
            opened = read(move, fields.OpportunityOpened)
            owners[oid] = (opened["pipeline"], opened["owner"])
            out.opportunities.append((oid, opened["pipeline"], opened["owner"], opened["company"], at))
            out.amounts.append((oid, at, version, Decimal(opened["amount"])))
        pipeline, owner = owners[oid]
        if kind in ("StageAdvanced", "OpportunityLost") and is_open:  # the current visit ends
            how = "advanced" if kind == "StageAdvanced" else "lost"
            if (visit := out.visits.get((oid, number))) is not None:
                visit.exited_at, visit.exit = at, how
            else:
                out.closed.append((at, how, oid, number))
            is_open = False
        if kind == "OpportunityLost":
            lost = read(move, fields.OpportunityLost)
            loss: list[object] = [oid, version, at, lost["stage"], lost["reason"], pipeline, owner, None]
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
        stage = _stage_entered(move)
        number, is_open = number + 1, True
        out.visits[(oid, number)] = _Visit(
            oid, number, stage, pipeline, owner, at, version, reentry=kind == "OpportunityReopened"
        )
        if kind == "StageAdvanced" and (amount := read(move, fields.StageAdvanced).get("amount")) is not None:
            out.amounts.append((oid, at, version, Decimal(amount)))
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
        # Rows of earlier batches: executemany runs in one pipeline (one round trip per batch).
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
        await copy_rows(cur, OPPORTUNITIES, batch.opportunities)
        await copy_rows(cur, VISITS, [v.row() for v in batch.visits.values()])
        await copy_rows(cur, AMOUNTS, batch.amounts)
        await copy_rows(cur, LOSSES, [tuple(loss) for loss in batch.losses])
        await copy_rows(cur, FIRST_ENTRIES, [e.row() for e in batch.entries.values()])
