"""Temporal history ⇄ event store: does the store hold exactly the events the workflows emitted?

A workflow emits its events through the `append_events` activity; every batch it ever scheduled is
in its Temporal history (input payloads included), in every run of a continued-as-new chain. For
each stream this compares those events with the stored rows: none missing (emitted, its append
completed, not stored), none extra (stored, never emitted), none differing (a version stored with
another event id, type or payload). Batches whose append has not completed yet are counted as in
flight, not missing. An opportunity is checked together with its after-sales relationship
(`<id>.after-sales`) when either side knows of one.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.connections import Connections
from app.errors import BadInput
from domain.after_sales import relationship_id
from domain.events import DomainEvent
from store.event_store import EventStore, StoredRow
from workflows.messages import APPEND_EVENTS, EventBatch


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

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.differing or self.problem)


async def _histories(client: Client, workflow_id: str) -> list[Sequence[HistoryEvent]]:
    """Every run's events, newest run first, following continue-as-new back to the first run."""
    out: list[Sequence[HistoryEvent]] = []
    run_id: str | None = None
    while True:
        history = (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events
        out.append(history)
        started = history[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return out
        run_id = started.continued_execution_run_id


async def emitted_events(client: Client, workflow_id: str) -> tuple[dict[int, DomainEvent], int, int]:
    """(completed events by version, events in flight, runs read) of one workflow id."""
    completed: dict[int, DomainEvent] = {}
    in_flight, histories = 0, await _histories(client, workflow_id)
    for history in histories:
        scheduled: dict[int, list[DomainEvent]] = {}
        done: set[int] = set()
        for event in history:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == APPEND_EVENTS:
                    [batch] = await client.data_converter.decode(attrs.input.payloads, [EventBatch])
                    scheduled[event.event_id] = batch.events
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done.add(event.activity_task_completed_event_attributes.scheduled_event_id)
        for scheduled_id, events in scheduled.items():
            if scheduled_id in done:
                completed.update({e.version: e for e in events})
            else:
                in_flight += len(events)
    return completed, in_flight, len(histories)


def _describe(event: DomainEvent) -> str:
    return f"v{event.version} {event.type} {event.event_id}"


def _holds(row: StoredRow, event: DomainEvent) -> bool:
    """Whether a stored row (its key columns and its payload) is exactly the emitted event."""
    return (row.version, row.event_id, row.type, row.event) == (
        event.version,
        event.event_id,
        event.type,
        event,
    )


def _describe_row(row: StoredRow) -> str:
    return f"v{row.version} {row.type} {row.event_id}"


async def check_stream(client: Client, store: EventStore, stream: str) -> StreamCheck:
    check = StreamCheck(stream)
    stored = {row.version: row for row in await store.read_stream_rows(stream)}
    check.stored = len(stored)
    try:
        emitted, check.in_flight, check.runs = await emitted_events(client, stream)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        check.problem = "no workflow in Temporal (never started, or past the namespace's retention)"
        return check
    check.emitted = len(emitted)
    for version, event in sorted(emitted.items()):
        kept = stored.get(version)
        if kept is None:
            check.missing.append(_describe(event))
        elif not _holds(kept, event):
            check.differing.append(f"{_describe(event)} emitted, {_describe_row(kept)} stored")
    check.extra = [_describe_row(row) for v, row in sorted(stored.items()) if v not in emitted]
    return check


async def reconcile(client: Client, store: EventStore, opportunity_ids: Iterable[str]) -> list[StreamCheck]:
    """Check each opportunity's stream and, where one exists, its relationship's."""
    checks = []
    for oid in opportunity_ids:
        checks.append(await check_stream(client, store, oid))
        relationship = await check_stream(client, store, relationship_id(oid))
        if relationship.stored or relationship.problem is None:  # either side knows of one
            checks.append(relationship)
    return checks


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
        on_progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> list[StreamCheck]:
        if not ids and start is None:
            raise BadInput("name the opportunities to check, or choose them with a start (and end)")
        if limit < 1:
            raise BadInput("the limit must be at least 1")
        if start is not None and end is not None and start >= end:
            raise BadInput("the start must be before the end")
        client, store = await self._c.temporal(), await self._c.store()
        chosen = list(ids) + (await store.streams_opened(start, end, limit) if start is not None else [])
        checks: list[StreamCheck] = []
        for n, oid in enumerate(chosen, start=1):
            checks += await reconcile(client, store, [oid])
            if n % 100 == 0:
                on_progress(n, len(chosen))
        return checks
