"""What a workflow's Temporal history (every run of it) says it emitted, and whether it is stuck.

Every batch a workflow ever scheduled through `append_events` is in its history, input included;
an append scheduled and not completed is in flight (since when is the scheduled event's time).
A workflow task that failed last, or a pending one on its second attempt or later, means the
workflow is not making progress at all: nothing it is asked will be applied until it is fixed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus

from domain.events import DomainEvent
from workflows.messages import APPEND_EVENTS, EventBatch

_TASK_OUTCOMES = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


@dataclass
class Emitted:
    completed: dict[int, DomainEvent] = field(default_factory=dict)  # by version
    in_flight: int = 0  # events in append batches not completed yet
    in_flight_since: datetime | None = None  # when the oldest of those batches was scheduled
    runs: int = 0
    task_failure: str | None = None  # the newest run's last workflow task failed, with this message


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


async def emitted_events(client: Client, workflow_id: str) -> Emitted:
    """What the workflow emitted, from its histories (NOT_FOUND as an RPCError if there is none)."""
    histories = await _histories(client, workflow_id)
    out = Emitted(runs=len(histories))
    for history in histories:
        scheduled: dict[int, tuple[datetime, list[DomainEvent]]] = {}
        done: set[int] = set()
        for event in history:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                if attrs.activity_type.name == APPEND_EVENTS:
                    [batch] = await client.data_converter.decode(attrs.input.payloads, [EventBatch])
                    scheduled[event.event_id] = (event.event_time.ToDatetime(tzinfo=UTC), batch.events)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done.add(event.activity_task_completed_event_attributes.scheduled_event_id)
        for scheduled_id, (when, events) in scheduled.items():
            if scheduled_id in done:
                out.completed.update({e.version: e for e in events})
            else:
                out.in_flight += len(events)
                oldest = out.in_flight_since
                out.in_flight_since = when if oldest is None else min(oldest, when)
    outcomes = [e for e in histories[0] if e.event_type in _TASK_OUTCOMES]
    if outcomes and outcomes[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
        failure = outcomes[-1].workflow_task_failed_event_attributes.failure
        out.task_failure = failure.message.splitlines()[0] if failure.message else "no message"
    return out


async def pending_task_attempt(client: Client, workflow_id: str) -> tuple[bool, int]:
    """(running, the attempt of its pending workflow task, 0 when there is none)."""
    raw = (await client.get_workflow_handle(workflow_id).describe()).raw_description
    running = raw.workflow_execution_info.status == WorkflowExecutionStatus.RUNNING.value
    attempt = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    return running, attempt
