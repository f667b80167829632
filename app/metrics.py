"""The application's metrics, in Prometheus' format (prometheus_client's default registry), beside
the Temporal SDK's own (runtime/metrics_http.py serves both: the API on `/metrics`, the worker on
its metrics port).

- `dealflow_commands_total{command, outcome, rule}`: every command the API answered, `accepted`
  or `refused` with the rule that refused it (a status code's name when no rule did), counted
  where its audit line is written (api/audit.py);
- `dealflow_append_seconds`: how long each append to the event store took (store/event_store.py);
- read at each scrape from PostgreSQL (`refresh_gauges`): the projector's lag in events and
  seconds, the outbox's backlog (notifications not yet routed, deliveries pending) and failed
  deliveries, the open discount requests and how long the oldest has waited at its level.
"""

from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge
from psycopg import AsyncConnection

from reports.projector_service import projector_lag
from store.event_store import EventStore

COMMANDS = Counter(
    "dealflow_commands",
    "Commands answered by the API: accepted, or refused (by the rule named, or the status's)",
    ["command", "outcome", "rule"],
)
PROJECTOR_LAG_EVENTS = Gauge("dealflow_projector_lag_events", "Events stored and not yet in the read models")
PROJECTOR_LAG_SECONDS = Gauge(
    "dealflow_projector_lag_seconds", "How long the oldest event not yet projected has waited"
)
PROJECTOR_LEADING = Gauge("dealflow_projector_leader", "1 while a projector service leads, else 0")
OUTBOX_BACKLOG = Gauge(
    "dealflow_outbox_backlog", "Notifications not delivered yet: not yet routed, or a delivery pending"
)
OUTBOX_FAILED = Gauge("dealflow_outbox_failed", "Notification deliveries that failed for good")
APPROVALS_PENDING = Gauge("dealflow_approvals_pending", "Open discount requests")
OLDEST_APPROVAL_SECONDS = Gauge(
    "dealflow_oldest_pending_approval_seconds",
    "How long the longest-waiting open discount request has waited at its level (0: none)",
)

_OUTBOX = """
SELECT (SELECT count(*) FROM notifications WHERE routed_at IS NULL)
     + (SELECT count(*) FROM notification_deliveries WHERE status = 'pending'),
       (SELECT count(*) FROM notification_deliveries WHERE status = 'failed')
"""
_APPROVALS = "SELECT count(*), min(waiting_since) FROM rm_pending_approvals"


def count_command(command: str, accepted: bool, rule: str | None, status: int) -> None:
    outcome = "accepted" if accepted else "refused"
    COMMANDS.labels(command, outcome, "" if accepted else rule or f"status-{status}").inc()


async def refresh_gauges(store: EventStore) -> None:
    """Read the gauges from PostgreSQL (one connection, three small queries; nothing caught up)."""
    async with store.pool.connection() as conn:
        await _refresh(conn)


async def _refresh(conn: AsyncConnection[Any]) -> None:
    lag = await projector_lag(conn)
    PROJECTOR_LAG_EVENTS.set(lag.events)
    PROJECTOR_LAG_SECONDS.set(lag.seconds)
    PROJECTOR_LEADING.set(1 if lag.leader else 0)
    backlog, failed = await (await conn.execute(_OUTBOX)).fetchone() or (0, 0)
    OUTBOX_BACKLOG.set(backlog or 0)
    OUTBOX_FAILED.set(failed or 0)
    pending, oldest = await (await conn.execute(_APPROVALS)).fetchone() or (0, None)
    APPROVALS_PENDING.set(pending or 0)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    OLDEST_APPROVAL_SECONDS.set(max(age, 0.0))
