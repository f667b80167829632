"""What callers ask of the domain. Every command is a frozen model that refuses unknown fields;
the opportunity's are here, checked by the rules in `domain.opportunity`, `negotiation` and
`follow_up`; the relationship's are in `domain.after_sales`.

The models take any text and any finite number: the rules (and `domain.inputs`) refuse what is
out of bounds by name, and a recorded history always decodes. The one exception is text that
cannot be sent at all (lone surrogates, e.g. undecodable bytes on a command line): refused here,
with the rule's name in the message, since no payload could carry it to a rule.
"""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.contracts import Contract
from domain.event_envelope import EventMeta
from domain.inputs import check_actor, refuse_surrogates
from domain.stages import LossReason, Stage


class Command(BaseModel):
    """The base of every command, the after-sales ones included.

    `actor` is who sends it: the HTTP API sets the principal it authenticated (`mei.chen`,
    `service:crm-sync`), a Python caller may set it, None means unknown (or the engine). Every
    event the command produces records it (`Event.actor`); the rules check its form
    (`domain.inputs.check_actor`), not who it is: who may do what is the front end's to decide."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str | None = None

    @model_validator(mode="after")
    def _encodable(self) -> "Command":
        refuse_surrogates(self)
        return self


def sent_by(cmd: Command, meta: EventMeta) -> EventMeta:
    """`meta` for the events of `cmd`: with its actor, whose form is checked (`id-format`)."""
    return meta.model_copy(update={"actor": check_actor(cmd.actor)})


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


class SetExpectedCloseDate(Command):
    """Set or change the date the deal is expected to close, without a move (`YYYY-MM-DD`)."""

    expected_close_date: str | date


class SetForecastCategory(Command):
    """Put the deal in a forecast category (commit, best_case, pipeline); None: its stage's."""

    category: str | None = None
