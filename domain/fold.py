"""One fold for every event stream: a state is what its events, applied in order, make of it.

A `Fold` knows the event that opens its kind of stream and how to build the first state from it,
and holds one mutator per event type that may follow (as in pyeventsourcing's aggregate examples).
The checks every stream needs live here once: a stream starts with its opening event and nothing
else, versions follow without a gap, and an event of a type the stream does not hold is refused.
A mutator changes a deep copy, so the state a caller holds is never modified.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, Self, TypeVar

from domain.event_envelope import Event


class StreamState(Protocol):
    """What the fold needs of a state: its version, and a copy to change."""

    version: int

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self: ...


S = TypeVar("S", bound=StreamState)
Opening = TypeVar("Opening", bound=Event)
M = TypeVar("M", bound=Callable[..., None])
T = TypeVar("T")


def fitting(value: T | None, event: Event) -> T:
    """`value`, which the event needs to apply (the request it votes on, the review it decides)."""
    if value is None:
        raise ValueError(f"{event.stream_id}: {type(event).__name__} v{event.version} does not fit the state")
    return value


class Fold(Generic[S]):
    def __init__(self, kind: str, opening: type[Opening], start: Callable[[Opening], S]) -> None:
        """`kind` names the stream in errors ("an after-sales stream"); `start` builds the state of
        version 1 from the `opening` event."""
        self.kind = kind
        self._opening: type[Event] = opening
        self._start: Callable[[Any], S] = start
        self._mutators: dict[type[Event], Callable[[S, Any], None]] = {}
        self._every: list[Callable[[S, Any], None]] = []

    def on(self, *event_types: type[Event]) -> Callable[[M], M]:
        """Register the decorated `mutator(state, event)` for these event types."""

        def register(mutator: M) -> M:
            for event_type in event_types:
                if event_type in self._mutators or event_type is self._opening:
                    raise ValueError(f"{event_type.__name__} already folds into {self.kind}")
                self._mutators[event_type] = mutator
            return mutator

        return register

    def on_every(self, mutator: M) -> M:
        """Register a mutator that runs before the event's own, for every event after the opening."""
        self._every.append(mutator)
        return mutator

    def event_types(self) -> frozenset[type[Event]]:
        """Every event type this kind of stream holds, its opening one included."""
        return frozenset({self._opening, *self._mutators})

    def apply(self, state: S | None, event: Event) -> S:
        """Return the state after `event`. The input state is not modified."""
        name = type(event).__name__
        if isinstance(event, self._opening):
            if state is not None:
                raise ValueError(f"{event.stream_id}: {name} on an existing stream")
            return self._start(event)
        if state is None:
            raise ValueError(f"{event.stream_id}: stream does not start with {self._opening.__name__}")
        if event.version != state.version + 1:
            raise ValueError(f"{event.stream_id}: expected version {state.version + 1}, got {event.version}")
        mutator = self._mutators.get(type(event))
        if mutator is None:
            raise ValueError(f"{event.stream_id}: {name} does not belong to {self.kind}")
        new = state.model_copy(deep=True)
        new.version = event.version
        for every in self._every:
            every(new, event)
        mutator(new, event)
        return new

    def replay(self, events: Iterable[Event]) -> S | None:
        """The state a whole stream makes, or None for an empty one."""
        state: S | None = None
        for event in events:
            state = self.apply(state, event)
        return state
