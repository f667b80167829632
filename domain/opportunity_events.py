"""An opportunity's life through the pipeline: opened, moved forward, lost, reopened."""

from decimal import Decimal
from typing import Literal

from pydantic import Field

from domain.event_envelope import Event
from domain.stages import LossReason, Stage


class OpportunityOpened(Event):
    """A lead was recorded: the opportunity enters `identify`."""

    type: Literal["OpportunityOpened"] = "OpportunityOpened"
    pipeline: str
    owner: str
    company: str
    contact_person: str
    source: str
    amount: Decimal
    renewal_of: str | None = None  # the won deal whose after-sales revisit opened this one


class StageAdvanced(Event):
    type: Literal["StageAdvanced"] = "StageAdvanced"
    from_stage: Stage
    to_stage: Stage
    facts: dict[str, str] = Field(default_factory=dict)
    amount: Decimal | None = None


class OpportunityLost(Event):
    type: Literal["OpportunityLost"] = "OpportunityLost"
    stage: Stage
    reason: LossReason
    note: str = ""


class OpportunityReopened(Event):
    """A lost opportunity re-enters the stage it was lost from."""

    type: Literal["OpportunityReopened"] = "OpportunityReopened"
    stage: Stage
