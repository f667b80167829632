"""The event stream a workflow owns: its state, and the two ways new events arise in it.

A command arrives as an update. Its validator asks the domain (`validate`): a refusal rejects the
update before it reaches history. The handler asks again (`handle`), since another update may have
moved the state in between, applies the events at once, so concurrent handlers see them, and saves
them before it returns.

A deadline passes in the run loop (`until_change_or`): the loop sleeps until the stream's earliest
deadline or its next change, whichever comes first (temporalio/samples-python `updatable_timer`),
and when the deadline wins it asks the domain what the deadline means for the state as it is now.
After a change the caller simply asks for the (possibly new) earliest deadline and waits again.

Both paths issue their commands in the same order as the workflows did before this helper existed
(upsert search attributes, then append, then any notifications): recorded histories replay.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Generic, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import Deadline
    from domain.events import DomainEvent
    from domain.fold import Fold, StreamState
    from workflows.event_sourcing import Decide, Journal, decide_now, validate

S = TypeVar("S", bound=StreamState)

# A timer for a deadline already due still needs a positive duration.
SHORTEST_TIMER = timedelta(milliseconds=1)


class EventStream(Generic[S]):
    def __init__(
        self,
        fold: Fold[S],
        state: S,
        opening: Sequence[DomainEvent] = (),
        *,
        on_change: Callable[[], None] | None = None,
        log_context: Callable[[S], Mapping[str, object]] = lambda _: {},
    ) -> None:
        """`state` is the stream so far (the opening events' fold, or what an earlier run carried);
        `opening` are events already in `state` that this run still has to save. `on_change` runs
        after new events are applied and before they are saved (the opportunity publishes its
        search attributes there)."""
        self._fold = fold
        self._state = state
        self._journal = Journal()
        self._journal.record(opening)
        self._on_change = on_change
        self._log_context = log_context

    @property
    def state(self) -> S:
        return self._state

    @staticmethod
    def validate(decide: Decide) -> None:
        """For an update's validator: refuse the command if the domain does, change nothing."""
        validate(decide)

    async def handle(self, decide: Decide) -> S:
        """For an update's handler: decide again on the current state, apply, save."""
        self._emit(decide_now(decide))
        await self._journal.save()
        return self._state

    async def save(self) -> None:
        await self._journal.save()

    async def until_change_or(self, deadline: Deadline[S] | None) -> Sequence[DomainEvent]:
        """Wait for the state to change or `deadline` to pass; then the events the deadline caused
        (saved already), or none if the state changed first."""
        version = self._state.version
        timeout = None if deadline is None else max(deadline.at - workflow.now(), SHORTEST_TIMER)
        try:
            await workflow.wait_condition(lambda: self._state.version != version, timeout=timeout)
        except TimeoutError:
            assert deadline is not None  # without a timeout the wait cannot time out
            events = decide_now(lambda meta: deadline.decide(self._state, meta))
            self._emit(events)
            await self._journal.save()
            return events
        return ()

    def _emit(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._state = self._fold.apply(self._state, event)
            workflow.logger.info("%s", event.type, extra=dict(self._log_context(self._state)))
        self._journal.record(events)
        if events and self._on_change is not None:
            self._on_change()
