"""What callers ask of an opportunity. Commands are checked by the rules in `domain.opportunity`."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.contracts import Contract
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
    renewal_of: str | None = None  # set by after-sales when a revisit opens a renewal


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


class RequestDiscount(_Command):
    discount: Decimal  # percent off the deal amount
    comment: str = ""


class DecideDiscount(_Command):
    approver: str
    approve: bool
    comment: str = ""


class SubmitContract(_Command):
    contract: Contract


class DecideContract(_Command):
    """Legal's sign-off (approve) or rejection of the contract under review."""

    by: str
    approve: bool = True
    comment: str = ""


class LogTouch(_Command):
    """An activity with the customer (call, visit, mail…): it restarts the stage's idle clock."""

    kind: str
    by: str
    note: str = ""
