"""The API's request bodies and the results only it returns. The bodies are the API's own contract,
not the domain's commands: who acts is the caller (an approver, signer or author named in a body
must be the caller, so the field is optional), and shapes are bounded here so a client learns of
a malformed body at once (422); what a rule decides (the stage order, the pipeline's amounts, the
policy) is still the domain's (409)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from app.queries import DealSummary
from domain.opportunity import OpportunityState
from domain.stages import ForecastCategory, LossReason, Stage

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
PERSON_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
LIST_LIMIT_MAX = 500
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)

NewId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
Person = Annotated[str, Field(min_length=1, max_length=64, pattern=PERSON_PATTERN)]
Label = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(max_length=2000)]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=30)]
Percent = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False, max_digits=12)]


def _in_range(value: datetime) -> datetime:
    """A date a report can use: naive means UTC; between 1900 and 9000."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError("a date between 1900-01-01 and 9000-01-01")
    return value.astimezone(UTC)


When = Annotated[datetime, AfterValidator(_in_range)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenBody(Body):
    opportunity_id: NewId | None = Field(
        None,
        description="default: opp-<10 hex digits>, the same again for a retry with the same Idempotency-Key",
    )
    pipeline: NewId = "software"
    owner: Person | None = Field(None, description="the rep who owns it (default: the caller)")
    company: Name
    contact_person: Name
    source: Name
    amount: Amount = Decimal(0)


class AdvanceBody(Body):
    to_stage: Stage
    facts: dict[Annotated[str, Field(max_length=64)], Note] = Field(default_factory=dict, max_length=50)
    amount: Amount | None = None


class LoseBody(Body):
    reason: LossReason
    note: Note = ""


class ReopenBody(Body):
    note: Note = ""


class CloseDateBody(Body):
    expected_close_date: str = Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD (a real date: the rules check it)"
    )


class ForecastCategoryBody(Body):
    category: ForecastCategory | None = Field(None, description="None: back to its stage's category")


class TouchBody(Body):
    kind: Label
    by: Person | None = Field(None, description="who did it (default: the caller; a service names the rep)")
    note: Note = ""


class DiscountRequestBody(Body):
    discount: Percent = Field(description="percent off the deal amount")
    comment: Note = ""


class DiscountDecisionBody(Body):
    approve: bool
    approver: Person | None = Field(None, description="must be the caller when given")
    comment: Note = ""


class ContractBody(Body):
    contract_id: NewId
    total: Amount
    discount: Percent = Decimal(0)
    payment_terms_days: int = Field(ge=0, le=3650)
    liability_cap: Amount | None = None


class ContractDecisionBody(Body):
    approve: bool = True
    by: Person | None = Field(None, description="legal's signer: must be the caller when given")
    comment: Note = ""


class FeedbackBody(Body):
    score: int = Field(ge=1, le=5)
    comment: Note = ""
    by: Person | None = None
    revisit: int | None = Field(None, ge=1, le=10_000, description="default: the latest revisit")


class RenewBody(Body):
    amount: Amount
    by: Person | None = None
    note: Note = ""


class CloseBody(Body):
    reason: Name
    by: Person | None = None


class ReconcileBody(Body):
    opportunity_ids: list[Annotated[str, Field(max_length=255, pattern=ID_PATTERN)]] = Field(
        default_factory=list, max_length=100
    )
    start: When | None = Field(None, description="also the opportunities opened from then")
    end: When | None = None
    limit: int = Field(100, ge=1, le=LIST_LIMIT_MAX)


class StoredEvent(BaseModel):
    """One event of a deal's stream, as stored."""

    version: int
    type: str
    occurred_at: AwareDatetime
    actor: str | None
    event: dict[str, Any]


class DealDetail(BaseModel):
    state: OpportunityState
    events: list[StoredEvent]


class DealPage(BaseModel):
    items: list[DealSummary]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last")


class DecisionQueued(BaseModel):
    """A decision sent as a signal: the deal checks it by the same rules, later."""

    request_id: str
    opportunity_id: str
    status: str = "queued"


class Health(BaseModel):
    status: str
