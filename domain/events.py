"""Domain events: immutable, typed, versioned facts about one opportunity.

Every event carries its stream (`opportunity_id`), its place in the stream (`version`, from 1),
a unique `event_id` and the time it happened. `schema_version` lets later code read old events.
"""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from domain.stages import LossReason, Stage


class EventMeta(BaseModel):
    """What the caller supplies for a new event: its id and the time it happened."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    occurred_at: AwareDatetime


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    opportunity_id: str
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


DomainEvent = Annotated[
    OpportunityOpened | StageAdvanced | OpportunityLost | OpportunityReopened,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[DomainEvent] = TypeAdapter(DomainEvent)


def event_from_json(data: str | bytes) -> DomainEvent:
    return EVENT_ADAPTER.validate_json(data)


def entered_stage(event: DomainEvent) -> Stage | None:
    """The stage an event makes the opportunity enter, if any."""
    match event:
        case OpportunityOpened():
            return Stage.IDENTIFY
        case StageAdvanced(to_stage=stage) | OpportunityReopened(stage=stage):
            return stage
    return None
