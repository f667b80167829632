"""What every dealflow workflow does with the domain: decide, record, save to the event store.

A command is validated by asking the domain (a refusal becomes a non-retryable ApplicationError that
names the rule) and decided again in the handler, since the state may have moved in between. Events
are applied at once by the caller and queued in a `Journal`, which appends them to the event store
through an activity, one batch at a time, so each stream reaches the store in version order.
`workflows.event_stream.EventStream` puts these pieces together for a workflow.
"""

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import RuleViolation
    from domain.events import DomainEvent, EventMeta
    from workflows.messages import APPEND_EVENTS, NOTIFY, EventBatch, Notification

ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
ACTIVITY_TIMEOUT = timedelta(seconds=10)

Decision = DomainEvent | list[DomainEvent]
Decide = Callable[[EventMeta], Decision]


def refusal(err: RuleViolation) -> ApplicationError:
    return ApplicationError(str(err), err.rule, type="RuleViolation", non_retryable=True)


def new_meta() -> EventMeta:
    return EventMeta(event_id=str(workflow.uuid4()), occurred_at=workflow.now())


def validate(decide: Decide) -> None:
    """For update validators, which must not touch workflow state or the deterministic RNG."""
    try:
        decide(EventMeta(event_id="validation", occurred_at=workflow.now()))
    except RuleViolation as err:
        raise refusal(err) from None


def decide_now(decide: Decide) -> Sequence[DomainEvent]:
    try:
        decision = decide(new_meta())
    except RuleViolation as err:
        raise refusal(err) from None
    return decision if isinstance(decision, list) else [decision]


class Journal:
    """Events applied but not yet in the event store."""

    def __init__(self) -> None:
        self._unsaved: list[DomainEvent] = []
        self._lock = asyncio.Lock()

    def record(self, events: Sequence[DomainEvent]) -> None:
        self._unsaved.extend(events)

    async def save(self) -> None:
        async with self._lock:
            if not self._unsaved:
                return  # an earlier caller's batch already carried our events
            batch = list(self._unsaved)
            await workflow.execute_activity(
                APPEND_EVENTS,
                EventBatch(events=batch),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
            del self._unsaved[: len(batch)]


async def notify(notification: Notification) -> None:
    await workflow.execute_activity(
        NOTIFY, notification, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
    )
