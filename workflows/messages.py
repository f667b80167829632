"""Payloads that cross the Temporal boundary (workflow input, activity input)."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from domain.commands import OpenOpportunity
from domain.contracts import Contract, ContractPolicy
from domain.events import DomainEvent
from domain.pipeline import Pipeline

# Activity names, shared by the workflow that calls them and the worker that runs them.
APPEND_EVENTS = "append_events"
CHECK_CONTRACT = "check_contract"
NOTIFY = "notify"


class StartOpportunity(BaseModel):
    """Workflow input. The pipeline travels with it: the workflow keeps the rules it started with."""

    model_config = ConfigDict(frozen=True)

    command: OpenOpportunity
    pipeline: Pipeline


class EventBatch(BaseModel):
    events: list[DomainEvent]


class Notification(BaseModel):
    key: str  # unique per notification (the id of the event behind it): delivery is idempotent
    recipient: str
    kind: str
    opportunity_id: str
    message: str


class ContractCheckRequest(BaseModel):
    contract: Contract
    policy: ContractPolicy
    quote: Decimal
    approved_discount: Decimal
