"""An opportunity's life through the pipeline: opened, moved forward, lost, reopened; its expected
close date and forecast category set."""

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from domain.event_envelope import Event
from domain.stages import ForecastCategory, LossReason, Stage


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


class ExpectedCloseDateSet(Event):
    """The date the deal is expected to close was set or changed (by a move's facts or on its own):
    a later date than `previous` is a push, an earlier one a pull-in."""

    type: Literal["ExpectedCloseDateSet"] = "ExpectedCloseDateSet"
    expected_close_date: date
    previous: date | None = None


class ForecastCategorySet(Event):
    """The deal's forecast category was set by hand (None: back to its stage's category)."""

    type: Literal["ForecastCategorySet"] = "ForecastCategorySet"
    category: ForecastCategory | None = None
