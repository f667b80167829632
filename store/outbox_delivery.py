"""The outbox's delivery state (migration 13), for the dispatcher (runtime/outbox_dispatcher.py) and
for `dealflow notifications`.

A notification is *routed* once: its recipient's channels become rows of `notification_deliveries`
(one per channel, with the address). A delivery is pending until delivered or failed for good.
`claim_due` takes pending deliveries whose `next_attempt_at` has come, counts the attempt and moves
`next_attempt_at` a lease ahead, all in one statement under `FOR UPDATE SKIP LOCKED`: two
dispatchers never hold the same delivery, and one that dies holding it (killed mid-send) leaves it
due again when the lease runs out: delivered at least once, never lost. The attempt is counted
when it starts, so a delivery that kills its dispatcher every time is still failed at the limit.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from store.event_store import EventStore

Status = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True)
class Notice:
    """A row of the outbox, as stored."""

    key: str
    recipient: str
    kind: str
    stream_id: str
    message: str
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Due:
    """A delivery claimed for one attempt (`attempts` counts this one)."""

    notice: Notice
    channel: str
    address: str
    attempts: int


@dataclass(frozen=True)
class Delivery:
    channel: str
    address: str
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class OutboxEntry:
    notice: Notice
    routed_at: datetime | None
    deliveries: tuple[Delivery, ...]

    @property
    def status(self) -> str:
        """pending (not routed, or a channel still trying), failed (a channel gave up), delivered
        (every channel), or kept (no channel reaches the recipient: the row is all there is)."""
        states = {d.status for d in self.deliveries}
        if self.routed_at is None or "pending" in states:
            return "pending"
        if "failed" in states:
            return "failed"
        return "delivered" if states else "kept"


_NOTICE = "n.key, n.recipient, n.kind, n.stream_id, n.message, n.created_at, n.details"


def _notice(row: Sequence[Any]) -> Notice:
    details = row[6] if isinstance(row[6], dict) else json.loads(row[6] or "{}")
    return Notice(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), row[5], details)


async def route_new(
    store: EventStore, channels: Callable[[Notice], list[tuple[str, str]]], limit: int = 100
) -> int:
    """Plan the deliveries of up to `limit` notifications not routed yet: `channels(notice)` says
    (channel, address) for each. Returns how many were routed."""
    async with store.pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            f"SELECT {_NOTICE} FROM notifications n WHERE n.routed_at IS NULL"
            " ORDER BY n.created_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (limit,),
        )
        notices = [_notice(row) for row in await cur.fetchall()]
        for notice in notices:
            planned = channels(notice)
            if planned:
                await conn.cursor().executemany(
                    "INSERT INTO notification_deliveries (key, channel, address) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [(notice.key, channel, address) for channel, address in planned],
                )
            await conn.execute("UPDATE notifications SET routed_at = now() WHERE key = %s", (notice.key,))
    return len(notices)


async def claim_due(store: EventStore, lease_s: float, limit: int = 16) -> list[Due]:
    """Pending deliveries due now, each held for `lease_s` seconds and its attempt counted."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "WITH due AS ("
            "  SELECT key, channel FROM notification_deliveries"
            "  WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()"
            "  ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED"
            "), claimed AS ("
            "  UPDATE notification_deliveries d SET attempts = d.attempts + 1,"
            "    next_attempt_at = clock_timestamp() + make_interval(secs => %s)"
            "  FROM due WHERE d.key = due.key AND d.channel = due.channel"
            "  RETURNING d.key, d.channel, d.address, d.attempts"
            f") SELECT {_NOTICE}, c.channel, c.address, c.attempts"
            " FROM claimed c JOIN notifications n ON n.key = c.key ORDER BY n.created_at",
            (limit, lease_s),
        )
        rows = cast(list[tuple[Any, ...]], await cur.fetchall())
        return [Due(_notice(r), str(r[7]), str(r[8]), int(r[9])) for r in rows]


async def mark_delivered(store: EventStore, key: str, channel: str) -> None:
    async with store.pool.connection() as conn:
        await conn.execute(
            "UPDATE notification_deliveries SET status = 'delivered', finished_at = now(), last_error = NULL"
            " WHERE key = %s AND channel = %s AND status = 'pending'",
            (key, channel),
        )
        await _finish_notice(conn, key)


async def mark_failed_attempt(
    store: EventStore, key: str, channel: str, error: str, retry_in_s: float | None
) -> None:
    """Record a failed attempt: due again in `retry_in_s` seconds, or (None) failed for good."""
    async with store.pool.connection() as conn:
        if retry_in_s is None:
            await conn.execute(
                "UPDATE notification_deliveries SET status = 'failed', finished_at = now(), last_error = %s"
                " WHERE key = %s AND channel = %s AND status = 'pending'",
                (error[:2000], key, channel),
            )
        else:
            await conn.execute(
                "UPDATE notification_deliveries SET last_error = %s,"
                " next_attempt_at = clock_timestamp() + make_interval(secs => %s)"
                " WHERE key = %s AND channel = %s AND status = 'pending'",
                (error[:2000], retry_in_s, key, channel),
            )


async def _finish_notice(conn: Any, key: str) -> None:
    # notifications.delivered_at (from migration 2): set once every channel has delivered.
    await conn.execute(
        "UPDATE notifications n SET delivered_at = now() WHERE n.key = %s AND n.delivered_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM notification_deliveries d"
        "                 WHERE d.key = n.key AND d.status <> 'delivered')",
        (key,),
    )


async def seconds_to_next(store: EventStore) -> float | None:
    """How soon there is something to do, by the database's clock: 0 if a notification waits to be
    routed, else until the earliest pending attempt (0 if due); None when nothing waits."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM notifications WHERE routed_at IS NULL) THEN 0"
            " ELSE greatest(0, extract(epoch FROM (SELECT min(next_attempt_at) FROM notification_deliveries"
            "   WHERE status = 'pending') - clock_timestamp())) END"
        )
        row = await cur.fetchone()
    return float(cast(float, row[0])) if row and row[0] is not None else None


async def outbox(store: EventStore, status: str | None = None, limit: int = 200) -> list[OutboxEntry]:
    """The newest notifications first, each with its deliveries; `status` keeps only the pending
    or the failed ones (as `OutboxEntry.status` says)."""
    pending = "EXISTS (SELECT 1 FROM notification_deliveries p WHERE p.key = n.key AND p.status = 'pending')"
    failed = "EXISTS (SELECT 1 FROM notification_deliveries f WHERE f.key = n.key AND f.status = 'failed')"
    where = {
        None: "TRUE",
        "pending": f"(n.routed_at IS NULL OR {pending})",
        "failed": f"({failed} AND NOT {pending})",
    }[status]
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_NOTICE}, n.routed_at, coalesce(json_agg(json_build_object("
            "  'channel', d.channel, 'address', d.address, 'status', d.status, 'attempts', d.attempts,"
            "  'next_attempt_at', d.next_attempt_at, 'last_error', d.last_error,"
            "  'finished_at', d.finished_at)"
            "  ORDER BY d.channel) FILTER (WHERE d.key IS NOT NULL), '[]')"
            " FROM notifications n LEFT JOIN notification_deliveries d ON d.key = n.key"
            f" WHERE {where} GROUP BY n.key ORDER BY n.created_at DESC, n.key LIMIT %s",
            (limit,),
        )
        rows = cast(list[tuple[Any, ...]], await cur.fetchall())
    return [
        OutboxEntry(
            _notice(row),
            row[7],
            tuple(
                Delivery(
                    d["channel"],
                    d["address"],
                    d["status"],
                    d["attempts"],
                    datetime.fromisoformat(d["next_attempt_at"]),
                    d["last_error"],
                    datetime.fromisoformat(d["finished_at"]) if d["finished_at"] else None,
                )
                for d in row[8]
            ),
        )
        for row in rows
    ]
