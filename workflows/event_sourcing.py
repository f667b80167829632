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
from temporalio.exceptions import ActivityError, ApplicationError

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
    """Events applied but not yet in the event store.

    Each `record` returns a ticket (how many events were recorded so far); `save(ticket)` returns
    once that event is stored. If the store refuses a batch for good (bad data, or a different
    event at a taken version), the batch and every event recorded after it (decided on a state
    that included the refused ones) are dropped: each of their savers gets the refusal, and
    `on_refused` lets the stream roll its state back to what is stored. Retrying would never help,
    and going on would leave the workflow's state ahead of its store forever.
    """

    def __init__(
        self,
        on_saved: Callable[[int], None] = lambda n: None,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self._unsaved: list[DomainEvent] = []
        self._lock = asyncio.Lock()
        self._recorded = 0  # tickets handed out
        self._settled = 0  # tickets stored or dropped, in order
        self._dropped: list[tuple[int, int, ApplicationError]] = []  # (first, last) ticket, why
        self._on_saved = on_saved
        self._on_refused = on_refused

    def record(self, events: Sequence[DomainEvent]) -> int:
        self._unsaved.extend(events)
        self._recorded += len(events)
        return self._recorded

    @property
    def unsaved(self) -> bool:
        return bool(self._unsaved)

    async def save(self, ticket: int | None = None) -> None:
        """Store everything recorded up to `ticket` (default: everything recorded so far)."""
        upto = self._recorded if ticket is None else ticket
        async with self._lock:
            if self._settled >= upto:  # an earlier caller's batch carried our events (or dropped them)
                self._raise_if_dropped(upto)
                return
            batch = list(self._unsaved)
            try:
                await workflow.execute_activity(
                    APPEND_EVENTS,
                    EventBatch(events=batch),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=ACTIVITY_RETRY,
                )
            except ActivityError as err:  # retries are unlimited: only a refusal for good ends here
                raise self._drop(batch, err) from None
            del self._unsaved[: len(batch)]
            self._settled += len(batch)
            self._on_saved(len(batch))

    def _drop(self, batch: Sequence[DomainEvent], err: ActivityError) -> ApplicationError:
        cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause or err)
        stream = batch[0].stream_id if batch else "the stream"
        types = ", ".join(f"v{e.version} {e.type}" for e in batch)
        refused = refusal(
            RuleViolation(
                "event-store-refused",
                f"the event store refused {stream} {types}: {cause}; nothing was recorded",
            )
        )
        workflow.logger.error("append refused: %s", refused.message)
        self._dropped.append((self._settled + 1, self._recorded, refused))
        self._unsaved.clear()
        self._settled = self._recorded
        self._on_refused()
        return refused

    def _raise_if_dropped(self, ticket: int) -> None:
        for first, last, refused in self._dropped:
            if first <= ticket <= last:
                raise refused


async def notify(notification: Notification) -> None:
    """Hand the notification to the outbox. One the outbox refuses for good is logged, not fatal:
    the event behind it is stored already, and the deal must go on."""
    try:
        await workflow.execute_activity(
            NOTIFY, notification, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )
    except ActivityError as err:  # retries are unlimited: only a refusal for good ends here
        workflow.logger.error("notification %s refused: %s", notification.key, err.cause or err)
