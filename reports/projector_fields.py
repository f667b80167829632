"""The event payload fields the projector reads, declared per event type: the only place in
reports/ that looks inside an event's JSON.

Each event type the projector reads from has a TypedDict here naming the fields it reads (a subset
of the event's pydantic model in domain/events.py, as stored by `model_dump_json`). The projector
gets at a payload only through `read(event, Fields)`, so mypy checks every field it touches against
this declaration, and tests/test_projector_contract.py checks the declaration against the domain's
models: renaming an event field without updating the projector fails a test.

A field the model gives a default may be missing from events stored before it existed, so it is
`NotRequired` here and read with `.get()` (the contract test insists on it).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypeVar, cast

# typing_extensions' TypedDict (pydantic's own dependency): on Python 3.11 pydantic can validate
# only these, and the contract test validates stored events against the declarations.
from typing_extensions import TypedDict

# JSON as pydantic writes it: Decimal and datetime fields are strings, tuples are lists.


class OpportunityOpened(TypedDict):
    pipeline: str
    owner: str
    company: str
    amount: str


class StageAdvanced(TypedDict):
    to_stage: str
    amount: NotRequired[str | None]


class OpportunityLost(TypedDict):
    stage: str
    reason: str


class OpportunityReopened(TypedDict):
    stage: str


class ExpectedCloseDateSet(TypedDict):
    expected_close_date: str
    previous: NotRequired[str | None]


class ForecastCategorySet(TypedDict):
    category: NotRequired[str | None]


class DiscountRequested(TypedDict):
    request_id: str
    discount: str
    amount: str
    level: int | None
    level_name: str
    supersedes: NotRequired[str | None]
    approvers: NotRequired[list[str]]
    deadline: NotRequired[str | None]


class DiscountVoted(TypedDict):
    request_id: str
    approver: str
    approve: bool
    comment: NotRequired[str]
    level_name: str


class DiscountApproved(TypedDict):
    request_id: str


class DiscountRejected(TypedDict):
    request_id: str


class DiscountEscalated(TypedDict):
    request_id: str
    to_level: int
    level_name: str
    approvers: NotRequired[list[str]]
    deadline: NotRequired[str | None]


class DiscountExpired(TypedDict):
    request_id: str


class DiscountDecisionRefused(TypedDict):
    decision_request_id: str
    request_id: NotRequired[str | None]
    approver: str
    approve: bool
    rule: str
    message: str
    actor: NotRequired[str | None]


class ClauseFailure(TypedDict):
    check: str


class ContractChecked(TypedDict):
    contract_id: str
    failures: NotRequired[list[ClauseFailure]]


class StallReminded(TypedDict):
    stage: str
    recipient: str


class StallEscalated(TypedDict):
    stage: str
    recipient: str
    owner: str


class AfterSalesStarted(TypedDict):
    deal_id: str
    pipeline: str
    owner: str
    customer: str
    won_at: str


class RevisitDue(TypedDict):
    number: int
    due_at: str


class RevisitMissed(TypedDict):
    number: int


class FeedbackRecorded(TypedDict):
    number: int
    score: int


class RenewalOpened(TypedDict):
    renewal_id: str
    amount: str


# event type -> the fields read from it; an event of any other type is never parsed
READS: dict[str, type] = {
    fields.__name__: fields
    for fields in (
        OpportunityOpened,
        StageAdvanced,
        OpportunityLost,
        OpportunityReopened,
        ExpectedCloseDateSet,
        ForecastCategorySet,
        DiscountRequested,
        DiscountVoted,
        DiscountApproved,
        DiscountRejected,
        DiscountEscalated,
        DiscountExpired,
        DiscountDecisionRefused,
        ContractChecked,
        StallReminded,
        StallEscalated,
        AfterSalesStarted,
        RevisitDue,
        RevisitMissed,
        FeedbackRecorded,
        RenewalOpened,
    )
}

F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One row of the events table as the projector sees it; the payload only through `read`."""

    position: int
    stream_id: str
    version: int
    type: str
    at: datetime
    _payload: object

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "StoredEvent":
        """From (position, stream_id, version, type, occurred_at, payload text or NULL)."""
        position, stream_id, version, kind, at, text = row
        return cls(position, stream_id, version, kind, at, None if text is None else json.loads(text))


def read(event: StoredEvent, fields: type[F]) -> F:
    """The payload of `event` typed as `fields`, the declaration for its event type."""
    if READS.get(event.type) is not fields:
        raise TypeError(f"{event.type} events are not read as {fields.__name__}")
    return cast(F, event._payload)
