"""What callers ask of the domain. Every command is a frozen model that refuses unknown fields;
the opportunity's are here, checked by the rules in `domain.opportunity`, `negotiation` and
`follow_up`; the relationship's are in `domain.after_sales`.
"""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.contracts import Contract
from domain.stages import LossReason, Stage


class Command(BaseModel):
    """The base of every command, the after-sales ones included."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenOpportunity(Command):
    opportunity_id: str
    pipeline: str
    owner: str
    company: str
    contact_person: str
    source: str
    amount: Decimal = Decimal(0)
    renewal_of: str | None = None  # set by after-sales when a revisit opens a renewal


class AdvanceStage(Command):
    """Move forward one stage. `to_stage` guards against skipping; `facts` meet the exit criteria."""

    to_stage: Stage
    facts: dict[str, str] = Field(default_factory=dict)
    amount: Decimal | None = None


class MarkLost(Command):
    reason: LossReason
    note: str = ""


class Reopen(Command):
    note: str = ""


class RequestDiscount(Command):
    discount: Decimal  # percent off the deal amount
    comment: str = ""


class DecideDiscount(Command):
    approver: str
    approve: bool
    comment: str = ""


class SubmitContract(Command):
    contract: Contract


class DecideContract(Command):
    """Legal's sign-off (approve) or rejection of the contract under review."""

    by: str
    approve: bool = True
    comment: str = ""


class LogTouch(Command):
    """An activity with the customer (call, visit, mail…): it restarts the stage's idle clock."""

    kind: str
    by: str
    note: str = ""
