"""The after-sales read models, from the relationship streams (`<deal id>.after-sales`).

- rm_relationships  one row per won deal's relationship: deal, pipeline, owner, customer, won at,
                    started, closed
- rm_revisits       one row per revisit that came due: when it was scheduled and came due, and
                    whether it was missed or answered (with the score)
- rm_renewals       one row per renewal a revisit opened: the new opportunity and its amount
Revisits and renewals count for the relationship's owner and pipeline, as it started.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from reports import projector_fields as fields
from reports.projector_fields import StoredEvent, read
from reports.projector_tables import Groups, Table, copy_rows

TYPES = frozenset(
    (
        "AfterSalesStarted",
        "RevisitDue",
        "RevisitMissed",
        "FeedbackRecorded",
        "RenewalOpened",
        "RelationshipClosed",
    )
)

RELATIONSHIPS = Table.of(
    "rm_relationships", "stream_id deal_id pipeline owner customer won_at started_at closed_at", "stream_id"
)
REVISITS = Table.of(
    "rm_revisits",
    "stream_id number pipeline owner due_at came_due_at missed_at answered_at score",
    "stream_id number",
)
RENEWALS = Table.of(
    "rm_renewals", "renewal_id stream_id deal_id pipeline owner opened_at amount", "renewal_id"
)
TABLES = (RELATIONSHIPS, REVISITS, RENEWALS)


async def project(conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
    relationships = Groups(RELATIONSHIPS, "stream_id")
    revisits = Groups(REVISITS, "stream_id")
    await relationships.load(conn, {e.stream_id for e in events if e.type != "AfterSalesStarted"})
    await revisits.load(
        conn, {e.stream_id for e in events if e.type in ("RevisitMissed", "FeedbackRecorded")}
    )
    renewals = []
    for event in events:
        sid, at = event.stream_id, event.at
        if event.type == "AfterSalesStarted":
            started = read(event, fields.AfterSalesStarted)
            won_at = datetime.fromisoformat(started["won_at"])
            relationships.put(
                [
                    sid,
                    started["deal_id"],
                    started["pipeline"],
                    started["owner"],
                    started["customer"],
                    won_at,
                    at,
                    None,
                ]
            )
            continue
        relationship = relationships.get(sid)
        assert relationship is not None, f"{sid}: after-sales event before AfterSalesStarted"
        pipeline, owner = (relationships.value(relationship, c) for c in ("pipeline", "owner"))
        match event.type:
            case "RevisitDue":
                due = read(event, fields.RevisitDue)
                due_at = datetime.fromisoformat(due["due_at"])
                revisits.put([sid, due["number"], pipeline, owner, due_at, at, None, None, None])
            case "RevisitMissed":
                if row := revisits.change(sid, read(event, fields.RevisitMissed)["number"]):
                    revisits.set(row, "missed_at", at)
            case "FeedbackRecorded":
                feedback = read(event, fields.FeedbackRecorded)
                if row := revisits.change(sid, feedback["number"]):
                    revisits.set(row, "answered_at", at)
                    revisits.set(row, "score", feedback["score"])
            case "RenewalOpened":
                renewal = read(event, fields.RenewalOpened)
                deal_id = relationships.value(relationship, "deal_id")
                renewals.append(
                    (renewal["renewal_id"], sid, deal_id, pipeline, owner, at, Decimal(renewal["amount"]))
                )
            case "RelationshipClosed":
                if row := relationships.change(sid):
                    relationships.set(row, "closed_at", at)
    async with conn.cursor() as cur:
        await relationships.write(cur)
        await revisits.write(cur)
        await copy_rows(cur, RENEWALS, renewals)
