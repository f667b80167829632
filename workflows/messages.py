"""Payloads that cross the Temporal boundary (workflow input, activity input)."""

from datetime import date
from decimal import Decimal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from domain.after_sales import DealWon, RelationshipState
from domain.commands import DecideDiscount, OpenOpportunity
from domain.contracts import Contract, ContractPolicy
from domain.events import DomainEvent
from domain.opportunity import OpportunityState
from domain.pipeline import Pipeline

# Activity names, shared by the workflow that calls them and the worker that runs them.
APPEND_EVENTS = "append_events"
CHECK_CONTRACT = "check_contract"
NOTIFY = "notify"
COMPILE_BRIEF = "compile_sales_brief"
START_AFTER_SALES = "start_after_sales"
START_RENEWAL = "start_renewal"
RESOLVE_PIPELINE = "resolve_pipeline"

# Update ids a workflow remembers across continue-as-new (a client retrying a command with the same
# request id then gets the current state instead of the command applied twice).
RecentUpdates = dict[str, int]  # update id -> the stream version after it, oldest first


class PipelineLookup(BaseModel):
    """The worker's answer to "which rules does pipeline X mean": the body and its content hash, or
    nothing (and the ids it knows) when the worker's catalog has no such pipeline."""

    pipeline: Pipeline | None = None
    version: str | None = None  # sha256 of the canonical JSON (store.pipeline_versions)
    known: list[str] = Field(default_factory=list)


class CarriedOpportunity(BaseModel):
    """What an opportunity's run hands to the next when it continues as new: everything it knows."""

    model_config = ConfigDict(frozen=True)

    state: OpportunityState
    pipeline: Pipeline  # pinned at the first run's start: a deal keeps its rules
    pipeline_version: str | None = None  # None for deals whose caller sent the pipeline
    after_sales_started: bool = False
    recent_updates: RecentUpdates = Field(default_factory=dict)


class StartOpportunity(BaseModel):
    """Workflow input: the lead, which names its pipeline; the worker resolves the rules from its own
    catalog. `pipeline` is ignored by new workflows (histories recorded while callers sent it keep
    using it on replay). `carried` is the deal so far when a run continues as new."""

    model_config = ConfigDict(frozen=True)

    command: OpenOpportunity
    pipeline: Pipeline | None = None
    carried: CarriedOpportunity | None = None


class DiscountDecisionSignal(BaseModel):
    """A discount decision sent as a signal (`OpportunityWorkflow.decide_discount_signal`) by a
    producer that cannot wait for the answer, with the request id it is applied once under."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    decision: DecideDiscount


class StartAfterSales(BaseModel):
    """After-sales input. `carried` is the relationship so far when a run continues as new."""

    model_config = ConfigDict(frozen=True)

    deal: DealWon
    pipeline: Pipeline
    carried: RelationshipState | None = None
    recent_updates: RecentUpdates = Field(default_factory=dict)


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
