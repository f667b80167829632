"""Negotiation: discount requests and their approval, and the contract's review.

`level` is the index of the approval level in the pipeline's policy (None: the owner alone);
`level_name` says which one for readers of the store.
"""

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime

from domain.contracts import ClauseFailure, Contract
from domain.event_envelope import Event


class DiscountRequested(Event):
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


class DiscountVoted(Event):
    type: Literal["DiscountVoted"] = "DiscountVoted"
    request_id: str
    approver: str
    role: str
    approve: bool
    comment: str = ""
    level: int
    level_name: str


class DiscountApproved(Event):
    type: Literal["DiscountApproved"] = "DiscountApproved"
    request_id: str
    discount: Decimal
    level: int | None
    level_name: str
    approvers: tuple[str, ...] = ()


class DiscountRejected(Event):
    type: Literal["DiscountRejected"] = "DiscountRejected"
    request_id: str
    level: int
    level_name: str
    approver: str
    comment: str = ""


class DiscountEscalated(Event):
    type: Literal["DiscountEscalated"] = "DiscountEscalated"
    request_id: str
    from_level: int
    to_level: int
    level_name: str
    approvers: tuple[str, ...] = ()  # as on DiscountRequested, for the new level
    deadline: AwareDatetime | None = None


class DiscountExpired(Event):
    type: Literal["DiscountExpired"] = "DiscountExpired"
    request_id: str
    level: int
    level_name: str


class DiscountDecisionRefused(Event):
    """A decision sent as a signal (by a producer that could not wait for the answer) that the rules
    refused. It records the refusal for the approver's inbox and changes nothing else: not the
    request, not the idle clock (`domain.follow_up_events.NOT_WORK`). Values the rules refused as
    malformed are recorded as quoted (`domain.inputs.shown`)."""

    type: Literal["DiscountDecisionRefused"] = "DiscountDecisionRefused"
    decision_request_id: str  # the request id the decision was sent with (its idempotency key)
    request_id: str | None = None  # the discount request open when it came; None: none was open
    approver: str
    approve: bool
    rule: str
    message: str


# --- contract review ------------------------------------------------------------------------------


class ContractSubmitted(Event):
    type: Literal["ContractSubmitted"] = "ContractSubmitted"
    contract: Contract


class ContractChecked(Event):
    type: Literal["ContractChecked"] = "ContractChecked"
    contract_id: str
    failures: tuple[ClauseFailure, ...] = ()


class LegalReviewEscalated(Event):
    type: Literal["LegalReviewEscalated"] = "LegalReviewEscalated"
    contract_id: str


class LegalReviewExpired(Event):
    type: Literal["LegalReviewExpired"] = "LegalReviewExpired"
    contract_id: str


class LegalDecided(Event):
    type: Literal["LegalDecided"] = "LegalDecided"
    contract_id: str
    by: str
    role: str
    approve: bool
    comment: str = ""
