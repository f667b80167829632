"""Domain events: immutable, typed, versioned facts about one opportunity.

Every event carries its stream (`stream_id`: an opportunity id, or `<deal id>.after-sales`), its
place in the stream (`version`, from 1), a unique `event_id` and the time it happened.
`schema_version` lets later code read old events.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.contracts import ClauseFailure, Contract
from domain.stages import LossReason, Stage


class EventMeta(BaseModel):
    """What the caller supplies for a new event: its id and the time it happened."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: AwareDatetime


def envelope(stream_id: str, version: int, meta: EventMeta) -> dict[str, Any]:
    """The fields every event carries: its stream, its place in it, its id and its time."""
    return {
        "stream_id": stream_id,
        "version": version,
        "event_id": meta.event_id,
        "occurred_at": meta.occurred_at,
    }


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

    def add(self, make: Callable[..., "DomainEvent"], **fields: object) -> None:
        n = len(self.events)
        meta = (
            self._meta if n == 0 else self._meta.model_copy(update={"event_id": f"{self._meta.event_id}.{n}"})
        )
        self.events.append(make(**envelope(self._stream_id, self._version + n + 1, meta), **fields))


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    # Events stored before the stream key was generic name it `opportunity_id`: both read.
    stream_id: str = Field(validation_alias=AliasChoices("stream_id", "opportunity_id"))
    version: int = Field(ge=1)
    event_id: str
    occurred_at: AwareDatetime


class OpportunityOpened(_Event):
    """A lead was recorded: the opportunity enters `identify`."""

    type: Literal["OpportunityOpened"] = "OpportunityOpened"
    pipeline: str
    owner: str
    company: str
    contact_person: str
    source: str
    amount: Decimal
    renewal_of: str | None = None  # the won deal whose after-sales revisit opened this one


class StageAdvanced(_Event):
    type: Literal["StageAdvanced"] = "StageAdvanced"
    from_stage: Stage
    to_stage: Stage
    facts: dict[str, str] = Field(default_factory=dict)
    amount: Decimal | None = None


class OpportunityLost(_Event):
    type: Literal["OpportunityLost"] = "OpportunityLost"
    stage: Stage
    reason: LossReason
    note: str = ""


class OpportunityReopened(_Event):
    """A lost opportunity re-enters the stage it was lost from."""

    type: Literal["OpportunityReopened"] = "OpportunityReopened"
    stage: Stage


# --- discount approval --------------------------------------------------------------------------
# `level` is the index of the approval level in the pipeline's policy (None: the owner alone);
# `level_name` says which one for readers of the store.


class DiscountRequested(_Event):
    type: Literal["DiscountRequested"] = "DiscountRequested"
    request_id: str
    discount: Decimal
    amount: Decimal
    level: int | None
    level_name: str
    supersedes: str | None = None
    comment: str = ""
    # Who may decide it at this level, by the deal's own policy, and when it escalates or expires
    # if nobody does (empty / None for the owner's own grant, and in events stored before v2).
    approvers: tuple[str, ...] = ()
    deadline: AwareDatetime | None = None


class DiscountVoted(_Event):
    type: Literal["DiscountVoted"] = "DiscountVoted"
    request_id: str
    approver: str
    role: str
    approve: bool
    comment: str = ""
    level: int
    level_name: str


class DiscountApproved(_Event):
    type: Literal["DiscountApproved"] = "DiscountApproved"
    request_id: str
    discount: Decimal
    level: int | None
    level_name: str
    approvers: tuple[str, ...] = ()


class DiscountRejected(_Event):
    type: Literal["DiscountRejected"] = "DiscountRejected"
    request_id: str
    level: int
    level_name: str
    approver: str
    comment: str = ""


class DiscountEscalated(_Event):
    type: Literal["DiscountEscalated"] = "DiscountEscalated"
    request_id: str
    from_level: int
    to_level: int
    level_name: str
    approvers: tuple[str, ...] = ()  # as on DiscountRequested, for the new level
    deadline: AwareDatetime | None = None


class DiscountExpired(_Event):
    type: Literal["DiscountExpired"] = "DiscountExpired"
    request_id: str
    level: int
    level_name: str


# --- contract review ------------------------------------------------------------------------------


class ContractSubmitted(_Event):
    type: Literal["ContractSubmitted"] = "ContractSubmitted"
    contract: Contract


class ContractChecked(_Event):
    type: Literal["ContractChecked"] = "ContractChecked"
    contract_id: str
    failures: tuple[ClauseFailure, ...] = ()


class LegalReviewEscalated(_Event):
    type: Literal["LegalReviewEscalated"] = "LegalReviewEscalated"
    contract_id: str


class LegalReviewExpired(_Event):
    type: Literal["LegalReviewExpired"] = "LegalReviewExpired"
    contract_id: str


class LegalDecided(_Event):
    type: Literal["LegalDecided"] = "LegalDecided"
    contract_id: str
    by: str
    role: str
    approve: bool
    comment: str = ""


# --- follow-up -----------------------------------------------------------------------------------


class TouchLogged(_Event):
    type: Literal["TouchLogged"] = "TouchLogged"
    stage: Stage
    kind: str
    by: str
    note: str = ""


class StallReminded(_Event):
    """The deal sat idle past its stage SLA: the owner was reminded."""

    type: Literal["StallReminded"] = "StallReminded"
    stage: Stage
    idle_days: float
    recipient: str


class StallEscalated(_Event):
    """Still idle past the second bound: the owner's manager was told."""

    type: Literal["StallEscalated"] = "StallEscalated"
    stage: Stage
    idle_days: float
    recipient: str
    owner: str


# --- after-sales (their own stream, `<opportunity id>.after-sales`) -------------------------------


class AfterSalesStarted(_Event):
    """The deal was won: the customer relationship begins and revisits are scheduled from `won_at`."""

    type: Literal["AfterSalesStarted"] = "AfterSalesStarted"
    deal_id: str
    pipeline: str
    owner: str
    customer: str
    contact_person: str
    amount: Decimal
    won_at: AwareDatetime


class RevisitDue(_Event):
    """A scheduled revisit came due: the owner got the task of visiting and asking for feedback."""

    type: Literal["RevisitDue"] = "RevisitDue"
    number: int = Field(ge=1)
    due_at: AwareDatetime
    owner: str


class RevisitMissed(_Event):
    """The next revisit came due and this one never got feedback."""

    type: Literal["RevisitMissed"] = "RevisitMissed"
    number: int = Field(ge=1)


class FeedbackRecorded(_Event):
    type: Literal["FeedbackRecorded"] = "FeedbackRecorded"
    number: int = Field(ge=1)
    score: int = Field(ge=1, le=5)
    comment: str
    by: str


class RenewalOpened(_Event):
    """A revisit turned up new business: a new opportunity for the same customer."""

    type: Literal["RenewalOpened"] = "RenewalOpened"
    renewal_id: str
    amount: Decimal
    by: str
    note: str = ""


class RelationshipClosed(_Event):
    type: Literal["RelationshipClosed"] = "RelationshipClosed"
    reason: str
    by: str


# Events that record the engine nagging, not work on the deal: they do not restart the idle clock.
NAGS = ("StallReminded", "StallEscalated")

DomainEvent = Annotated[
    OpportunityOpened
    | StageAdvanced
    | OpportunityLost
    | OpportunityReopened
    | DiscountRequested
    | DiscountVoted
    | DiscountApproved
    | DiscountRejected
    | DiscountEscalated
    | DiscountExpired
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
