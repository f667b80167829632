"""The event stream a workflow owns: its state, and the two ways new events arise in it.

A command arrives as an update. Its validator asks the domain (`validate`): a refusal rejects the
update before it reaches history. The handler asks again (`handle`), since another update may have
moved the state in between, applies the events at once, so concurrent handlers see them, and saves
them before it returns. A command from a producer that cannot wait arrives as a signal
(`handle_signal`): decided the same way, its refusal recorded as an event, since nobody hears it.

A deadline passes in the run loop (`until_change_or`): the loop sleeps until the stream's earliest
deadline or its next change, whichever comes first (temporalio/samples-python `updatable_timer`),
and when the deadline wins it asks the domain what the deadline means for the state as it is now.
After a change the caller simply asks for the (possibly new) earliest deadline and waits again.

Both paths issue their commands in the same order as the workflows did before this helper existed
(upsert search attributes, then append, then any notifications): recorded histories replay.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Generic, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.deadlines import Deadline
    from domain.events import DomainEvent
    from domain.fold import Fold, StreamState
    from workflows.event_sourcing import Decide, Journal, decide_now, validate
    from workflows.messages import RecentUpdates

S = TypeVar("S", bound=StreamState)

# A timer for a deadline already due still needs a positive duration.
SHORTEST_TIMER = timedelta(milliseconds=1)
# Temporal accepts at most 2,000 updates per run: continue as new well before that.
UPDATES_PER_RUN = 1_800
# How many update ids a stream remembers across runs, for clients that retry with the same id.
REMEMBERED_UPDATES = 1_000


class EventStream(Generic[S]):
    def __init__(
        self,
        fold: Fold[S],
        state: S,
        opening: Sequence[DomainEvent] = (),
        *,
        on_change: Callable[[], None] | None = None,
        log_context: Callable[[S], Mapping[str, object]] = lambda _: {},
        recent_updates: RecentUpdates | None = None,
    ) -> None:
        """`state` is the stream so far (the opening events' fold, or what an earlier run carried);
        `opening` are events already in `state` that this run still has to save. `on_change` runs
        after new events are applied and before they are saved (the opportunity publishes its
        search attributes there). `recent_updates` are the update ids an earlier run handled."""
        self._fold = fold
        self._state = state
        # What the store holds (None until the opening is saved) and the state after each unsaved
        # decision, so that a batch the store refuses for good can be rolled back.
        self._stored: S | None = None if opening else state
        self._pending: list[tuple[int, S]] = [(len(opening), state)] if opening else []
        self._journal = Journal(self._saved, self._refused)
        self._journal.record(opening)
        self._on_change = on_change
        self._log_context = log_context
        self._recent: RecentUpdates = dict(recent_updates or {})
        self.updates_this_run = 0

    @property
    def state(self) -> S:
        return self._state

    @property
    def recent_updates(self) -> RecentUpdates:
        return dict(self._recent)

    def validate(self, decide: Decide) -> None:
        """For an update's validator: refuse the command if the domain does, change nothing. An
        update this stream handled already (a retry in a later run) is let through: `once` answers it."""
        if not self._handled_already():
            validate(decide)

    async def handle(self, decide: Decide) -> S:
        """For an update's handler: decide again on the current state, apply, save (once per id)."""
        return await self.once(lambda: self.record(decide))

    async def once(self, command: Callable[[], Awaitable[S]]) -> S:
        """Run an update's handler body unless this update id was handled before; then the state."""
        self.updates_this_run += 1
        if self._handled_already():
            return self._state
        result = await command()
        info = workflow.current_update_info()
        if info is not None:
            self._remember(info.id)
        return result

    async def handle_signal(self, request_id: str | None, decide: Decide) -> None:
        """For a signal's handler: decide on the current state, apply, save, once per request id
        (None: an id not fit to remember, the decision records its refusal). Nobody waits for the
        answer, so nothing is raised: `decide` records a refusal as an event, and a batch the store
        refuses for good (rolled back, as for an update) is logged."""
        self.updates_this_run += 1  # signals count too: they lengthen the history as updates do
        if request_id is not None and request_id in self._recent:
            workflow.logger.info("signal %s was handled already: ignored", request_id)
            return
        try:
            ticket = self._emit(decide_now(decide))
            if request_id is not None:
                self._remember(request_id)  # before the save: a copy arriving meanwhile is a repeat
            await self._journal.save(ticket)
        except ApplicationError as err:
            workflow.logger.error("signal %s not recorded: %s", request_id, err.message)

    def _remember(self, request_id: str) -> None:
        self._recent[request_id] = self._state.version
        while len(self._recent) > REMEMBERED_UPDATES:
            del self._recent[next(iter(self._recent))]

    async def record(self, decide: Decide) -> S:
        """Decide on the current state, apply, save; no check of the update id (`handle` does that)."""
        ticket = self._emit(decide_now(decide))
        await self._journal.save(ticket)
        return self._state

    async def save(self) -> None:
        await self._journal.save()

    def continue_as_new_due(self) -> bool:
        return self.updates_this_run >= UPDATES_PER_RUN or workflow.info().is_continue_as_new_suggested()

    async def drain(self) -> None:
        """Before continuing as new: every handler finished and every event stored, with no await
        between the check and the caller's `continue_as_new` (an update could slip in there)."""
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._journal.unsaved:
                await self._journal.save()
            elif workflow.all_handlers_finished():
                return

    async def until_change_or(
        self, deadline: Deadline[S] | None, wake: Callable[[], bool] = lambda: False
    ) -> Sequence[DomainEvent]:
        """Wait for the state to change, `wake()` to hold or `deadline` to pass; then the events the
        deadline caused (saved already), or none if the state changed first."""
        version = self._state.version
        timeout = None if deadline is None else max(deadline.at - workflow.now(), SHORTEST_TIMER)
        try:
            await workflow.wait_condition(lambda: self._state.version != version or wake(), timeout=timeout)
        except TimeoutError:
            assert deadline is not None  # without a timeout the wait cannot time out
            events = decide_now(lambda meta: deadline.decide(self._state, meta))
            await self._journal.save(self._emit(events))
            return events
        return ()

    def _handled_already(self) -> bool:
        info = workflow.current_update_info()
        return info is not None and info.id in self._recent

    def _emit(self, events: Sequence[DomainEvent]) -> int:
        for event in events:
            self._state = self._fold.apply(self._state, event)
            workflow.logger.info("%s", event.type, extra=dict(self._log_context(self._state)))
        if events:
            self._pending.append((len(events), self._state))
        ticket = self._journal.record(events)
        if events and self._on_change is not None:
            self._on_change()
        return ticket

    def _saved(self, count: int) -> None:
        while count > 0:
            n, self._stored = self._pending.pop(0)
            count -= n

    def _refused(self) -> None:
        """The store refused a batch for good: back to what it holds (nothing to go back to if the
        opening itself was refused: the caller fails the workflow)."""
        self._pending.clear()
        if self._stored is not None:
            self._state = self._stored
            if self._on_change is not None:
                self._on_change()
