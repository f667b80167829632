"""Temporal history ⇄ event store: does the store hold exactly the events the workflows emitted,
and is any workflow stuck?

For each stream this compares the events its workflow's histories say were appended
(app/reconcile_history.py) with the stored rows: none missing (emitted, its append completed, not
stored), none extra (stored, never emitted), none differing (a version stored with another event
id, type or payload). And it reports what will not fix itself: an append still in flight after
`stuck_after` (the store refuses it, or no worker runs it), a workflow whose task is failing. An
opportunity is checked together with its after-sales relationship (`<id>.after-sales`) when
either side knows of one.

Opportunities are chosen by id, or by when they were opened: both those the store saw opened and
those Temporal's visibility lists as started then, so a workflow whose events never reached the
store is found too.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.connections import Connections
from app.errors import BadInput
from app.reconcile_history import emitted_events, pending_task_attempt
from domain.after_sales import relationship_id
from domain.events import DomainEvent
from store.event_store import EventStore, StoredRow

STUCK_AFTER = timedelta(minutes=5)
_RELATIONSHIP_SUFFIX = relationship_id("")


@dataclass
class StreamCheck:
    stream: str
    emitted: int = 0  # distinct events in completed append batches
    stored: int = 0
    in_flight: int = 0  # events in append batches not completed yet
    runs: int = 0  # workflow runs read (continue-as-new)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    problem: str | None = None  # e.g. no workflow found
    stuck: str | None = None  # an append in flight for longer than it should be
    failing: str | None = None  # the workflow's task fails: it makes no progress at all

    @property
    def ok(self) -> bool:
        return not (
            self.missing or self.extra or self.differing or self.problem or self.stuck or self.failing
        )


def _describe(event: DomainEvent | StoredRow) -> str:
    """An event as emitted or as a stored row keys it: version, type and id."""
    return f"v{event.version} {event.type} {event.event_id}"


def _holds(row: StoredRow, event: DomainEvent) -> bool:
    """Whether a stored row (its key columns and its payload) is exactly the emitted event."""
    return (row.version, row.event_id, row.type, row.event) == (
        event.version,
        event.event_id,
        event.type,
        event,
    )


async def check_stream(
    client: Client, store: EventStore, stream: str, *, stuck_after: timedelta = STUCK_AFTER
) -> StreamCheck:
    check = StreamCheck(stream)
    stored = {row.version: row for row in await store.read_stream_rows(stream)}
    check.stored = len(stored)
    try:
        emitted = await emitted_events(client, stream)
        running, attempt = await pending_task_attempt(client, stream)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        check.problem = "no workflow in Temporal (never started, or past the namespace's retention)"
        return check
    check.emitted, check.in_flight, check.runs = len(emitted.completed), emitted.in_flight, emitted.runs
    for version, event in sorted(emitted.completed.items()):
        kept = stored.get(version)
        if kept is None:
            check.missing.append(_describe(event))
        elif not _holds(kept, event):
            check.differing.append(f"{_describe(event)} emitted, {_describe(kept)} stored")
    check.extra = [_describe(row) for v, row in sorted(stored.items()) if v not in emitted.completed]
    since = emitted.in_flight_since
    if since is not None and datetime.now(UTC) - since >= stuck_after:
        minutes = (datetime.now(UTC) - since).total_seconds() / 60
        check.stuck = (
            f"{emitted.in_flight} events in flight to the store since {since:%Y-%m-%d %H:%M:%S}Z"
            f" ({minutes:.0f} min)"
        )
    # The last workflow task failed (later attempts of a failing task leave no history; the pending
    # one's attempt counts them). A task that timed out (a worker killed) is not failing.
    if running and emitted.task_failure:
        check.failing = f"workflow task failing (attempt {max(attempt, 1)}): {emitted.task_failure}"
    return check


async def reconcile(
    client: Client, store: EventStore, opportunity_ids: Iterable[str], *, stuck_after: timedelta = STUCK_AFTER
) -> list[StreamCheck]:
    """Check each opportunity's stream and, where one exists, its relationship's."""
    checks = []
    for oid in opportunity_ids:
        checks.append(await check_stream(client, store, oid, stuck_after=stuck_after))
        relationship = await check_stream(client, store, relationship_id(oid), stuck_after=stuck_after)
        if relationship.stored or relationship.problem is None:  # either side knows of one
            checks.append(relationship)
    return checks


async def started_in(client: Client, start: datetime, end: datetime | None, limit: int) -> list[str]:
    """The opportunities whose workflows (or relationships') Temporal's visibility lists as started
    in [start, end): the deal's id for either."""
    query = (
        "WorkflowType IN ('OpportunityWorkflow', 'AfterSalesWorkflow')"
        f" AND StartTime >= '{start.astimezone(UTC).isoformat()}'"
        + (f" AND StartTime < '{end.astimezone(UTC).isoformat()}'" if end is not None else "")
    )
    found: list[str] = []
    async for wf in client.list_workflows(query, limit=limit):
        found.append(wf.id.removesuffix(_RELATIONSHIP_SUFFIX))
    return found


class Reconciliation:
    """Reconcile the opportunities named, or those opened in a period, through the app's connections."""

    def __init__(self, connections: Connections) -> None:
        self._c = connections

    async def run(
        self,
        ids: Sequence[str] = (),
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
        stuck_after: timedelta = STUCK_AFTER,
        on_progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> list[StreamCheck]:
        if not ids and start is None:
            raise BadInput("name the opportunities to check, or choose them with a start (and end)")
        if limit < 1:
            raise BadInput("the limit must be at least 1")
        if stuck_after < timedelta(0):
            raise BadInput("--stuck-after must not be negative")
        if start is not None and end is not None and start >= end:
            raise BadInput("the start must be before the end")
        client, store = await self._c.temporal(), await self._c.store()
        chosen = list(ids)
        if start is not None:
            chosen += await store.streams_opened(start, end, limit)
            chosen += await started_in(client, start, end, limit)
        chosen = list(dict.fromkeys(chosen))[: max(limit, len(ids))]  # each once, in order
        checks: list[StreamCheck] = []
        for n, oid in enumerate(chosen, start=1):
            checks += await reconcile(client, store, [oid], stuck_after=stuck_after)
            if n % 100 == 0:
                on_progress(n, len(chosen))
        return checks
