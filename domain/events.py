"""Domain events: immutable, typed, versioned facts, one stream per opportunity or relationship.

The events are defined by area (`opportunity_events`, `negotiation_events`, `follow_up_events`,
`after_sales_events`) on the envelope of `event_envelope`; this module is the whole vocabulary in
one place: every event class, the `DomainEvent` union that reads any of them back from JSON, and
`StreamWriter`, which numbers the events one decision produces.
"""

from collections.abc import Callable
from typing import Annotated

from pydantic import Field, TypeAdapter

from domain.after_sales_events import (
    AfterSalesStarted,
    FeedbackRecorded,
    RelationshipClosed,
    RenewalOpened,
    RevisitDue,
    RevisitMissed,
)
from domain.event_envelope import Event, EventMeta, envelope
from domain.follow_up_events import NAGS, NOT_WORK, StallEscalated, StallReminded, TouchLogged
from domain.negotiation_events import (
    ContractChecked,
    ContractSubmitted,
    DiscountApproved,
    DiscountDecisionRefused,
    DiscountEscalated,
    DiscountExpired,
    DiscountRejected,
    DiscountRequested,
    DiscountVoted,
    LegalDecided,
    LegalReviewEscalated,
    LegalReviewExpired,
)
from domain.opportunity_events import (
    ExpectedCloseDateSet,
    ForecastCategorySet,
    OpportunityLost,
    OpportunityOpened,
    OpportunityReopened,
    StageAdvanced,
)

__all__ = [
    "EVENT_ADAPTER",
    "NAGS",
    "NOT_WORK",
    "AfterSalesStarted",
    "ContractChecked",
    "ContractSubmitted",
    "DiscountApproved",
    "DiscountDecisionRefused",
    "DiscountEscalated",
    "DiscountExpired",
    "DiscountRejected",
    "DiscountRequested",
    "DiscountVoted",
    "DomainEvent",
    "Event",
    "EventMeta",
    "ExpectedCloseDateSet",
    "FeedbackRecorded",
    "ForecastCategorySet",
    "LegalDecided",
    "LegalReviewEscalated",
    "LegalReviewExpired",
    "OpportunityLost",
    "OpportunityOpened",
    "OpportunityReopened",
    "RelationshipClosed",
    "RenewalOpened",
    "RevisitDue",
    "RevisitMissed",
    "StageAdvanced",
    "StallEscalated",
    "StallReminded",
    "StreamWriter",
    "TouchLogged",
    "envelope",
    "event_from_json",
]

DomainEvent = Annotated[
    OpportunityOpened
    | StageAdvanced
    | OpportunityLost
    | OpportunityReopened
    | ExpectedCloseDateSet
    | ForecastCategorySet
    | DiscountRequested
    | DiscountVoted
    | DiscountApproved
    | DiscountRejected
    | DiscountEscalated
    | DiscountExpired
    | DiscountDecisionRefused
    | ContractSubmitted
    | ContractChecked
    | LegalReviewEscalated
    | LegalReviewExpired
    | LegalDecided
    | TouchLogged
    | StallReminded
    | StallEscalated
    | AfterSalesStarted
    | RevisitDue
    | RevisitMissed
    | FeedbackRecorded
    | RenewalOpened
    | RelationshipClosed,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[DomainEvent] = TypeAdapter(DomainEvent)


def event_from_json(data: str | bytes) -> DomainEvent:
    return EVENT_ADAPTER.validate_json(data)


class StreamWriter:
    """Numbers the events one decision produces, continuing a stream from `version`.

    The first event takes the caller's event id, later ones `<id>.1`, `<id>.2`…: ids stay unique
    and a retried decision reproduces them exactly.
    """

    def __init__(self, stream_id: str, version: int, meta: EventMeta) -> None:
        self._stream_id = stream_id
        self._version = version
        self._meta = meta
        self.events: list[DomainEvent] = []

    def add(self, make: Callable[..., DomainEvent], **fields: object) -> None:
        n = len(self.events)
        meta = (
            self._meta if n == 0 else self._meta.model_copy(update={"event_id": f"{self._meta.event_id}.{n}"})
        )
        self.events.append(make(**envelope(self._stream_id, self._version + n + 1, meta), **fields))
