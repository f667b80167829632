"""What callers ask of an opportunity. Commands are checked by the rules in `domain.opportunity`."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.stages import LossReason, Stage


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenOpportunity(_Command):
    opportunity_id: str
    pipeline: str
    owner: str
    company: str
    contact_person: str
    source: str
    amount: Decimal = Decimal(0)


class AdvanceStage(_Command):
    """Move forward one stage. `to_stage` guards against skipping; `facts` meet the exit criteria."""

    to_stage: Stage
    facts: dict[str, str] = Field(default_factory=dict)
    amount: Decimal | None = None


class MarkLost(_Command):
    reason: LossReason
    note: str = ""


class Reopen(_Command):
    note: str = ""
