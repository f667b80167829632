"""The discount read models: every request with its outcome, the time each approval level held it,
and the approvals inbox (the requests still open, with who may still decide them).

- rm_discount_requests  one row per request: deal, owner, pipeline, discount, amount, the level it
                        started at (NULL: the owner granted it alone), first escalation, outcome
                        (approved / rejected / expired / superseded) and when it came
- rm_discount_levels    one row per level a request reached: when it started there and how the
                        level ended (approved / rejected / escalated / expired / superseded)
- rm_discount_votes     one row per vote: who, on which request, yes or no, their comment
- rm_pending_approvals  one row per deal with an open request: its level, deadline, the approvers
                        who may still decide it (by the deal's own policy, as the events recorded
                        it) and those who voted; NULL approvers and deadline for requests stored
                        before the events carried them (reports/pending_approvals.py fills them)
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from reports import projector_fields as fields
from reports.projector_fields import StoredEvent, read
from reports.projector_tables import Groups, Table, copy_rows, owners

TYPES = frozenset(
    (
        "DiscountRequested",
        "DiscountVoted",
        "DiscountApproved",
        "DiscountRejected",
        "DiscountEscalated",
        "DiscountExpired",
    )
)

REQUESTS = Table.of(
    "rm_discount_requests",
    "request_id opportunity_id version pipeline owner discount amount level level_name requested_at"
    " escalated_at outcome decided_at",
    "request_id",
)
LEVELS = Table.of(
    "rm_discount_levels",
    "request_id level level_name opportunity_id pipeline owner started_at ended_at ended_by",
    "request_id level",
)
PENDING = Table.of(
    "rm_pending_approvals",
    "opportunity_id request_id pipeline owner discount amount level level_name waiting_since deadline"
    " approvers voted",
    "opportunity_id",
)
VOTES = Table.of(
    "rm_discount_votes",
    "opportunity_id version at request_id approver approve comment level_name",
    "opportunity_id version",
)
TABLES = (REQUESTS, LEVELS, PENDING, VOTES)


def _request_id(event: StoredEvent) -> str:
    match event.type:
        case "DiscountRequested":
            return read(event, fields.DiscountRequested)["request_id"]
        case "DiscountVoted":
            return read(event, fields.DiscountVoted)["request_id"]
        case "DiscountApproved":
            return read(event, fields.DiscountApproved)["request_id"]
        case "DiscountRejected":
            return read(event, fields.DiscountRejected)["request_id"]
        case "DiscountEscalated":
            return read(event, fields.DiscountEscalated)["request_id"]
        case _:
            return read(event, fields.DiscountExpired)["request_id"]


def _routing(approvers: list[str] | None, deadline: str | None, voted: list[str]) -> tuple[Any, Any]:
    """(approvers still to decide, deadline); both NULL when the event did not record them."""
    if deadline is None:
        return None, None
    return [a for a in approvers or () if a not in voted], datetime.fromisoformat(deadline)


class _Fold:
    def __init__(self) -> None:
        self.requests = Groups(REQUESTS, "request_id")
        self.levels = Groups(LEVELS, "request_id")
        self.pending = Groups(PENDING, "opportunity_id")
        self.open_level: dict[object, object] = {}  # request id -> the level it is at, if open

    async def load(self, conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
        ids = {_request_id(e) for e in events}
        ids |= {
            s
            for e in events
            if e.type == "DiscountRequested"
            if (s := read(e, fields.DiscountRequested).get("supersedes"))
        }
        await self.requests.load(conn, ids)
        await self.levels.load(conn, ids)
        for (rid, level), row in self.levels.rows.items():
            if self.levels.value(row, "ended_at") is None:
                self.open_level[rid] = level
        await self.pending.load(conn, {e.stream_id for e in events})

    def end_level(self, request_id: str, at: datetime, how: str) -> None:
        """The level the request is at ends (its only level row without an end)."""
        if request_id in self.open_level and (
            row := self.levels.change(request_id, self.open_level.pop(request_id))
        ):
            self.levels.set(row, "ended_at", at)
            self.levels.set(row, "ended_by", how)

    def start_level(self, row: list[object]) -> None:
        self.levels.put(row)
        self.open_level[row[0]] = row[1]

    def decide(self, request_id: str, at: datetime, outcome: str) -> None:
        if (request := self.requests.change(request_id)) is not None:
            self.requests.set(request, "outcome", outcome)
            self.requests.set(request, "decided_at", at)
        self.end_level(request_id, at, outcome)

    def requested(self, event: StoredEvent, pipeline: str, owner: str) -> None:
        asked, oid, at = read(event, fields.DiscountRequested), event.stream_id, event.at
        if (old := asked.get("supersedes")) is not None:
            self.decide(old, at, "superseded")
        discount, amount, level = Decimal(asked["discount"]), Decimal(asked["amount"]), asked["level"]
        rid, name = asked["request_id"], asked["level_name"]
        self.requests.put(
            [rid, oid, event.version, pipeline, owner, discount, amount, level, name, at, None, None, None]
        )
        self.pending.drop(oid)
        if level is None:  # the owner's own grant: approved at once, never waits for anyone
            return
        self.start_level([rid, level, name, oid, pipeline, owner, at, None, None])
        approvers, deadline = _routing(asked.get("approvers"), asked.get("deadline"), [])
        self.pending.put(
            [oid, rid, pipeline, owner, discount, amount, level, name, at, deadline, approvers, []]
        )

    def voted(self, event: StoredEvent) -> None:
        vote = read(event, fields.DiscountVoted)
        row = self.pending.change(event.stream_id)
        if row is None or self.pending.value(row, "request_id") != vote["request_id"]:
            return
        voted = [*self._list(row, "voted"), vote["approver"]]
        self.pending.set(row, "voted", voted)
        if self.pending.value(row, "approvers") is not None:  # NULL: not recorded, stays unknown
            left = [a for a in self._list(row, "approvers") if a != vote["approver"]]
            self.pending.set(row, "approvers", left)

    def escalated(self, event: StoredEvent) -> None:
        up, at = read(event, fields.DiscountEscalated), event.at
        rid = up["request_id"]
        if (request := self.requests.change(rid)) is None:
            return
        if self.requests.value(request, "escalated_at") is None:
            self.requests.set(request, "escalated_at", at)
        self.end_level(rid, at, "escalated")
        oid, pipeline, owner = (
            self.requests.value(request, c) for c in ("opportunity_id", "pipeline", "owner")
        )
        self.start_level([rid, up["to_level"], up["level_name"], oid, pipeline, owner, at, None, None])
        if (row := self.pending.change(oid)) is not None and self.pending.value(row, "request_id") == rid:
            approvers, deadline = _routing(up.get("approvers"), up.get("deadline"), self._list(row, "voted"))
            for column, value in (
                ("level", up["to_level"]),
                ("level_name", up["level_name"]),
                ("waiting_since", at),
                ("deadline", deadline),
                ("approvers", approvers),
            ):
                self.pending.set(row, column, value)

    def closed(self, event: StoredEvent, outcome: str) -> None:
        self.decide(_request_id(event), event.at, outcome)
        row = self.pending.get(event.stream_id)
        if row is not None and self.pending.value(row, "request_id") == _request_id(event):
            self.pending.drop(event.stream_id)

    def _list(self, row: list[object], column: str) -> list[str]:
        value = self.pending.value(row, column)
        return [str(v) for v in value] if isinstance(value, list) else []


_OUTCOMES = {"DiscountApproved": "approved", "DiscountRejected": "rejected", "DiscountExpired": "expired"}


async def project(conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
    fold = _Fold()
    await fold.load(conn, events)
    deal_owners = await owners(conn, {e.stream_id for e in events if e.type == "DiscountRequested"})
    for event in events:
        if event.type == "DiscountRequested":
            fold.requested(event, *deal_owners[event.stream_id])
        elif event.type == "DiscountVoted":
            fold.voted(event)
        elif event.type == "DiscountEscalated":
            fold.escalated(event)
        else:
            fold.closed(event, _OUTCOMES[event.type])
    async with conn.cursor() as cur:
        for groups in (fold.requests, fold.levels, fold.pending):
            await groups.write(cur)
        await copy_rows(cur, VOTES, (_vote_row(e) for e in events if e.type == "DiscountVoted"))


def _vote_row(event: StoredEvent) -> list[object]:
    vote = read(event, fields.DiscountVoted)
    return [
        event.stream_id,
        event.version,
        event.at,
        vote["request_id"],
        vote["approver"],
        vote["approve"],
        vote.get("comment", ""),
        vote["level_name"],
    ]
