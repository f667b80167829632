"""After-sales: a won deal's customer relationship, in a stream of its own (`<deal id>.after-sales`)."""

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from domain.event_envelope import Event


class AfterSalesStarted(Event):
    """The deal was won: the customer relationship begins and revisits are scheduled from `won_at`."""

    type: Literal["AfterSalesStarted"] = "AfterSalesStarted"
    deal_id: str
    pipeline: str
    owner: str
    customer: str
    contact_person: str
    amount: Decimal
    won_at: AwareDatetime


class RevisitDue(Event):
    """A scheduled revisit came due: the owner got the task of visiting and asking for feedback."""

    type: Literal["RevisitDue"] = "RevisitDue"
    number: int = Field(ge=1)
    due_at: AwareDatetime
    owner: str


class RevisitMissed(Event):
    """The next revisit came due and this one never got feedback."""

    type: Literal["RevisitMissed"] = "RevisitMissed"
    number: int = Field(ge=1)


class FeedbackRecorded(Event):
    type: Literal["FeedbackRecorded"] = "FeedbackRecorded"
    number: int = Field(ge=1)
    score: int = Field(ge=1, le=5)
    comment: str
    by: str


class RenewalOpened(Event):
    """A revisit turned up new business: a new opportunity for the same customer."""

    type: Literal["RenewalOpened"] = "RenewalOpened"
    renewal_id: str
    amount: Decimal
    by: str
    note: str = ""


class RelationshipClosed(Event):
    type: Literal["RelationshipClosed"] = "RelationshipClosed"
    reason: str
    by: str
