"""The Python API a backend service uses to drive opportunities (the CLI is built on it).

Every refusal, whether from the pipeline catalog, the domain rules inside the workflow or Temporal
itself (a duplicate opportunity id), comes out as `DealRefused` with the rule's name.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.after_sales import (
    CloseRelationship,
    OpenRenewal,
    RecordFeedback,
    RelationshipState,
    relationship_id,
)
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    LogTouch,
    MarkLost,
    OpenOpportunity,
    Reopen,
    RequestDiscount,
    SubmitContract,
)
from domain.errors import RuleViolation
from domain.events import EventMeta
from domain.opportunity import OpportunityState, decide_open
from domain.pipeline import PipelineCatalog
from runtime.settings import TASK_QUEUE
from workflows import search_attributes as sa
from workflows.after_sales import AfterSalesWorkflow
from workflows.messages import StartOpportunity
from workflows.opportunity import OpportunityWorkflow

T = TypeVar("T")


class DealRefused(Exception):
    """A refused command. `rule` names the broken rule; str() reads "[rule] message"."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        self.message = message.removeprefix(f"[{rule}] ")
        super().__init__(f"[{rule}] {self.message}")


@dataclass(frozen=True)
class DealSummary:
    opportunity_id: str
    stage: str
    owner: str
    pipeline: str
    amount: float
    running: bool


class DealClient:
    def __init__(self, client: Client, catalog: PipelineCatalog, task_queue: str = TASK_QUEUE) -> None:
        self._client = client
        self._catalog = catalog
        self._task_queue = task_queue

    async def open(self, cmd: OpenOpportunity) -> WorkflowHandle[OpportunityWorkflow, OpportunityState]:
        """Start the opportunity's workflow. Refused for an unknown pipeline, a bad lead or a taken id."""
        pipeline = _refusing(lambda: self._catalog.get(cmd.pipeline))
        # Check the lead here too, so a bad one never starts a workflow at all.
        _refusing(lambda: decide_open(cmd, pipeline, EventMeta(event_id="check", occurred_at=_EPOCH)))
        try:
            return await self._client.start_workflow(
                OpportunityWorkflow.run,
                StartOpportunity(command=cmd, pipeline=pipeline),
                id=cmd.opportunity_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            raise DealRefused(
                "unique-opportunity-id", f"an opportunity with id {cmd.opportunity_id!r} already exists"
            ) from None

    def _handle(self, opportunity_id: str) -> WorkflowHandle[OpportunityWorkflow, OpportunityState]:
        return self._client.get_workflow_handle_for(OpportunityWorkflow.run, opportunity_id)

    async def advance(self, opportunity_id: str, cmd: AdvanceStage) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.advance, cmd)

    async def mark_lost(self, opportunity_id: str, cmd: MarkLost) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.mark_lost, cmd)

    async def reopen(self, opportunity_id: str, cmd: Reopen) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.reopen, cmd)

    async def log_touch(self, opportunity_id: str, cmd: LogTouch) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.log_touch, cmd)

    async def request_discount(self, opportunity_id: str, cmd: RequestDiscount) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.request_discount, cmd)

    async def decide_discount(self, opportunity_id: str, cmd: DecideDiscount) -> OpportunityState:
        """A manager's (or director's) approval or rejection, with their identity and a comment."""
        return await self._execute(opportunity_id, OpportunityWorkflow.decide_discount, cmd)

    async def submit_contract(self, opportunity_id: str, cmd: SubmitContract) -> OpportunityState:
        """Submit the drafted contract; returns once the clause checks have run (see `state.contract`)."""
        return await self._execute(opportunity_id, OpportunityWorkflow.submit_contract, cmd)

    async def decide_contract(self, opportunity_id: str, cmd: DecideContract) -> OpportunityState:
        """Legal's sign-off or rejection."""
        return await self._execute(opportunity_id, OpportunityWorkflow.decide_contract, cmd)

    async def _execute(self, opportunity_id: str, update: Any, cmd: BaseModel) -> OpportunityState:
        """Run one of the workflow's updates, turning its refusals into `DealRefused`."""
        handle = self._handle(opportunity_id)
        result: OpportunityState = await _update(opportunity_id, lambda: handle.execute_update(update, cmd))
        return result

    # --- after-sales: addressed by the won deal's id ----------------------------------------------

    def _relationship(self, deal_id: str) -> WorkflowHandle[AfterSalesWorkflow, RelationshipState]:
        return self._client.get_workflow_handle_for(AfterSalesWorkflow.run, relationship_id(deal_id))

    async def relationship(self, deal_id: str) -> RelationshipState:
        """The after-sales relationship of a won deal: revisits, feedback, renewals."""
        return await _update(
            relationship_id(deal_id), lambda: self._relationship(deal_id).query(AfterSalesWorkflow.state)
        )

    async def record_feedback(self, deal_id: str, cmd: RecordFeedback) -> RelationshipState:
        """The customer's score (1-5) and comment for a revisit (by default the latest one)."""
        return await self._execute_relationship(deal_id, AfterSalesWorkflow.record_feedback, cmd)

    async def open_renewal(self, deal_id: str, cmd: OpenRenewal) -> RelationshipState:
        """Open a renewal opportunity for the customer; its id is the last of `renewals`."""
        return await self._execute_relationship(deal_id, AfterSalesWorkflow.open_renewal, cmd)

    async def close_relationship(self, deal_id: str, cmd: CloseRelationship) -> RelationshipState:
        return await self._execute_relationship(deal_id, AfterSalesWorkflow.close, cmd)

    async def _execute_relationship(self, deal_id: str, update: Any, cmd: BaseModel) -> RelationshipState:
        """Run one of the relationship's updates, turning its refusals into `DealRefused`."""
        handle = self._relationship(deal_id)
        result: RelationshipState = await _update(
            relationship_id(deal_id), lambda: handle.execute_update(update, cmd)
        )
        return result

    async def show(self, opportunity_id: str) -> OpportunityState:
        return await _update(
            opportunity_id, lambda: self._handle(opportunity_id).query(OpportunityWorkflow.state)
        )

    async def list(
        self, *, stage: str | None = None, owner: str | None = None, pipeline: str | None = None
    ) -> list[DealSummary]:
        """Opportunities through Temporal visibility, filtered by the custom search attributes."""
        clauses = ["WorkflowType = 'OpportunityWorkflow'"]
        for key, value in ((sa.STAGE, stage), (sa.OWNER, owner), (sa.PIPELINE, pipeline)):
            if value is not None:
                escaped = value.replace("'", "''")
                clauses.append(f"{key.name} = '{escaped}'")
        found = []
        async for wf in self._client.list_workflows(" AND ".join(clauses)):
            attrs: TypedSearchAttributes = wf.typed_search_attributes
            found.append(
                DealSummary(
                    opportunity_id=wf.id,
                    stage=attrs.get(sa.STAGE) or "?",
                    owner=attrs.get(sa.OWNER) or "?",
                    pipeline=attrs.get(sa.PIPELINE) or "?",
                    amount=attrs.get(sa.AMOUNT) or 0.0,
                    running=wf.status == WorkflowExecutionStatus.RUNNING,
                )
            )
        return sorted(found, key=lambda d: d.opportunity_id)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _refusing(check: Callable[[], T]) -> T:
    try:
        return check()
    except RuleViolation as err:
        raise DealRefused(err.rule, err.message) from None


async def _update(opportunity_id: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "RuleViolation":
            rule = str(cause.details[0]) if cause.details else "rule"
            raise DealRefused(rule, cause.message) from None
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DealRefused("known-opportunity", f"no opportunity {opportunity_id!r}") from None
        raise
