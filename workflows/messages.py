"""Payloads that cross the Temporal boundary (workflow input, activity input)."""

from datetime import date
from decimal import Decimal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from domain.after_sales import DealWon, RelationshipState
from domain.commands import OpenOpportunity
from domain.contracts import Contract, ContractPolicy
from domain.events import DomainEvent
from domain.pipeline import Pipeline

# Activity names, shared by the workflow that calls them and the worker that runs them.
APPEND_EVENTS = "append_events"
CHECK_CONTRACT = "check_contract"
NOTIFY = "notify"
COMPILE_BRIEF = "compile_sales_brief"
START_AFTER_SALES = "start_after_sales"
START_RENEWAL = "start_renewal"


class StartOpportunity(BaseModel):
    """Workflow input. The pipeline travels with it: the workflow keeps the rules it started with."""

    model_config = ConfigDict(frozen=True)

    command: OpenOpportunity
    pipeline: Pipeline


class StartAfterSales(BaseModel):
    """After-sales input. `carried` is the relationship so far when a run continues as new."""

    model_config = ConfigDict(frozen=True)

    deal: DealWon
    pipeline: Pipeline
    carried: RelationshipState | None = None


class BriefRequest(BaseModel):
    """Which sales brief to compile: the week (or month) that starts on `period_start`."""

    period: str = "week"  # "week" or "month"
    period_start: date | None = None  # None: the last full period before `now`
    pipeline: str | None = None  # None: every pipeline
    now: AwareDatetime | None = None  # set by the workflow from workflow.now()


class EventBatch(BaseModel):
    events: list[DomainEvent]


class Notification(BaseModel):
    key: str  # unique per notification (the id of the event behind it): delivery is idempotent
    recipient: str
    kind: str
    # the stream it is about; histories recorded before the key was generic call it opportunity_id
    stream_id: str = Field(validation_alias=AliasChoices("stream_id", "opportunity_id"))
    message: str


class ContractCheckRequest(BaseModel):
    contract: Contract
    policy: ContractPolicy
    quote: Decimal
    approved_discount: Decimal
