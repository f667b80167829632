"""The commands that drive opportunities and relationships (Temporal updates; a discount decision
may also go as a signal), and the two workflow queries (an opportunity's state, a relationship's).

Every refusal, whether from the pipeline catalog, the domain rules inside the workflow or Temporal
itself (a duplicate opportunity id, a workflow that has ended), comes out as `app.errors.Refused`
with the rule's name; an unknown id as `NotFound`; a Temporal that stopped answering, or no worker
to answer, as `Unavailable` (retryable: retry with the same request id).
`DealRefused` is the earlier name of `Refused`.
"""

import contextlib
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from app.errors import BadInput, Refused
from app.temporal_calls import completed_update, unavailable
from app.worker_watch import WorkerWatch
from app.workflow_kinds import OPPORTUNITY, RELATIONSHIP, WorkflowKind, not_running
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
    SetExpectedCloseDate,
    SetForecastCategory,
    SubmitContract,
)
from domain.discount_signals import rememberable
from domain.errors import RuleViolation
from domain.events import EventMeta
from domain.opportunity import OpportunityState, decide_open
from domain.pipeline import PipelineCatalog
from runtime.settings import TASK_QUEUE
from workflows.after_sales import AfterSalesWorkflow
from workflows.messages import DiscountDecisionSignal, StartOpportunity
from workflows.opportunity import OpportunityWorkflow

T = TypeVar("T")

# The memo key under which an opportunity's workflow records the request id that started it.
REQUEST_ID_MEMO = "dealflow_request_id"
# A deal's workflow: its result is the final state, or nothing for a run that continued as new.
OpportunityHandle = WorkflowHandle[OpportunityWorkflow, Any]


DealRefused = Refused


class DealClient:
    """Every command method takes `request_id`: the command's idempotency key (a new uuid4 when
    None). Sent again with the same id, a command is applied at most once and answers with the
    first result: retry with it after any `Unavailable` error or a lost answer."""

    def __init__(
        self,
        client: Client,
        catalog: PipelineCatalog,
        task_queue: str = TASK_QUEUE,
        *,
        watch: WorkerWatch | None = None,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._task_queue = task_queue
        self._watch = watch or WorkerWatch(client, task_queue)

    async def open(self, cmd: OpenOpportunity, *, request_id: str | None = None) -> OpportunityHandle:
        """Start the opportunity's workflow and return once the worker has opened the lead.

        The worker's catalog decides what the pipeline means (an unknown one is refused there);
        a lead this client can already see is bad (by its own catalog) never starts a workflow.
        Refused for a taken id, unless taken by this same request: then it answers as the first
        time (a retry after a lost answer)."""
        if not cmd.opportunity_id.strip():
            raise BadInput("an opportunity id must not be empty")
        if cmd.renewal_of is not None:  # only a won deal's revisit opens a renewal (aftersales renew)
            raise Refused(
                "renewal-by-after-sales",
                f"{cmd.opportunity_id}: a renewal is opened from the won deal's after-sales"
                f" (`dealflow aftersales renew {cmd.renewal_of}`), not started with renewal_of",
            )
        request_id = request_id or new_request_id()
        if cmd.pipeline in self._catalog.pipelines:
            pipeline = self._catalog.get(cmd.pipeline)
            _refusing(lambda: decide_open(cmd, pipeline, EventMeta(event_id="check", occurred_at=_EPOCH)))
        handle = self._handle(cmd.opportunity_id)
        try:
            await self._client.start_workflow(
                OpportunityWorkflow.run,
                StartOpportunity(command=cmd),  # no rules: the worker's are the rules
                id=cmd.opportunity_id,
                task_queue=self._task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                memo={REQUEST_ID_MEMO: request_id},
            )
        except WorkflowAlreadyStartedError:
            if not await self._started_by(cmd.opportunity_id, request_id):
                raise Refused(
                    "unique-opportunity-id", f"an opportunity with id {cmd.opportunity_id!r} already exists"
                ) from None
        except (RPCError, RPCTimeoutOrCancelledError) as err:
            raise unavailable(self._client, err, request_id) from None
        # The worker's verdict on the lead (and a retried open's first answer). Its own id: a
        # request id is one command's, and `opened` is a step of this one.
        await self._call(
            OPPORTUNITY,
            cmd.opportunity_id,
            lambda: handle.execute_update(OpportunityWorkflow.opened, id=f"open:{request_id}"),
            request_id,
        )
        return handle

    async def _started_by(self, workflow_id: str, request_id: str) -> bool:
        """Whether the workflow with this id was started by the request `request_id` (the first
        run's memo: a later run's may not carry it)."""
        try:
            described = await self._client.get_workflow_handle(workflow_id).describe()
            first = described.raw_description.workflow_execution_info.first_run_id
            if first and first != described.run_id:
                described = await self._client.get_workflow_handle(workflow_id, run_id=first).describe()
            return bool(await described.memo_value(REQUEST_ID_MEMO, None) == request_id)
        except (RPCError, RPCTimeoutOrCancelledError) as err:
            raise unavailable(self._client, err, request_id) from None

    def _handle(self, opportunity_id: str) -> OpportunityHandle:
        return self._client.get_workflow_handle_for(OpportunityWorkflow.run, opportunity_id)

    async def advance(
        self, opportunity_id: str, cmd: AdvanceStage, *, request_id: str | None = None
    ) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.advance, cmd, request_id)

    async def mark_lost(
        self, opportunity_id: str, cmd: MarkLost, *, request_id: str | None = None
    ) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.mark_lost, cmd, request_id)

    async def reopen(
        self, opportunity_id: str, cmd: Reopen, *, request_id: str | None = None
    ) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.reopen, cmd, request_id)

    async def log_touch(
        self, opportunity_id: str, cmd: LogTouch, *, request_id: str | None = None
    ) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.log_touch, cmd, request_id)

    async def set_close_date(
        self, opportunity_id: str, cmd: SetExpectedCloseDate, *, request_id: str | None = None
    ) -> OpportunityState:
        """Set or change the expected close date without a move (a later one counts as a push)."""
        return await self._execute(opportunity_id, OpportunityWorkflow.set_close_date, cmd, request_id)

    async def set_forecast_category(
        self, opportunity_id: str, cmd: SetForecastCategory, *, request_id: str | None = None
    ) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.set_forecast_category, cmd, request_id)

    async def request_discount(
        self, opportunity_id: str, cmd: RequestDiscount, *, request_id: str | None = None
    ) -> OpportunityState:
        return await self._execute(opportunity_id, OpportunityWorkflow.request_discount, cmd, request_id)

    async def decide_discount(
        self, opportunity_id: str, cmd: DecideDiscount, *, request_id: str | None = None
    ) -> OpportunityState:
        """A manager's (or director's) approval or rejection, with their identity and a comment."""
        return await self._execute(opportunity_id, OpportunityWorkflow.decide_discount, cmd, request_id)

    async def signal_discount_decision(
        self, opportunity_id: str, cmd: DecideDiscount, *, request_id: str | None = None
    ) -> str:
        """`decide_discount` for a producer that cannot wait for the outcome: sent as a signal, which
        Temporal keeps until a worker applies it; returns the request id (the same id twice is
        applied once). The update's rules decide it; a refused one is recorded, and shown in the
        approver's inbox (`Queries.refused_decisions`) and the deal's `refused_decisions`."""
        rid = request_id or new_request_id()
        if not rememberable(rid):
            raise BadInput(f"a request id is 1 to 255 printable characters, not {rid!r}")
        signal = DiscountDecisionSignal(request_id=rid, decision=cmd)
        try:
            await self._handle(opportunity_id).signal(OpportunityWorkflow.decide_discount_signal, signal)
        except (RPCError, RPCTimeoutOrCancelledError) as err:
            if not isinstance(err, RPCError) or err.status != RPCStatusCode.NOT_FOUND:
                raise unavailable(self._client, err, rid) from None
            raise await not_running(self._client, OPPORTUNITY, opportunity_id) from None
        return rid

    async def submit_contract(
        self, opportunity_id: str, cmd: SubmitContract, *, request_id: str | None = None
    ) -> OpportunityState:
        """Submit the drafted contract; returns once the clause checks have run (see `state.contract`)."""
        return await self._execute(opportunity_id, OpportunityWorkflow.submit_contract, cmd, request_id)

    async def decide_contract(
        self, opportunity_id: str, cmd: DecideContract, *, request_id: str | None = None
    ) -> OpportunityState:
        """Legal's sign-off or rejection."""
        return await self._execute(opportunity_id, OpportunityWorkflow.decide_contract, cmd, request_id)

    async def _execute(
        self, opportunity_id: str, update: Any, cmd: BaseModel, request_id: str | None
    ) -> OpportunityState:
        rid = request_id or new_request_id()
        handle = self._handle(opportunity_id)
        return await self._call(
            OPPORTUNITY, opportunity_id, lambda: handle.execute_update(update, cmd, id=rid), rid
        )

    async def show(self, opportunity_id: str) -> OpportunityState:
        """The opportunity's state (a workflow query: also after it has ended)."""
        handle = self._handle(opportunity_id)
        return await self._call(OPPORTUNITY, opportunity_id, lambda: handle.query(OpportunityWorkflow.state))

    # --- after-sales: addressed by the won deal's id ----------------------------------------------

    def _relationship(self, deal_id: str) -> WorkflowHandle[AfterSalesWorkflow, RelationshipState]:
        return self._client.get_workflow_handle_for(AfterSalesWorkflow.run, relationship_id(deal_id))

    async def relationship(self, deal_id: str) -> RelationshipState:
        """The after-sales relationship of a won deal: revisits, feedback, renewals."""
        return await self._call(
            RELATIONSHIP,
            relationship_id(deal_id),
            lambda: self._relationship(deal_id).query(AfterSalesWorkflow.state),
        )

    async def record_feedback(
        self, deal_id: str, cmd: RecordFeedback, *, request_id: str | None = None
    ) -> RelationshipState:
        """The customer's score (1-5) and comment for a revisit (by default the latest one)."""
        return await self._execute_relationship(deal_id, AfterSalesWorkflow.record_feedback, cmd, request_id)

    async def open_renewal(
        self, deal_id: str, cmd: OpenRenewal, *, request_id: str | None = None
    ) -> RelationshipState:
        """Open a renewal opportunity for the customer; its id is the last of `renewals`."""
        return await self._execute_relationship(deal_id, AfterSalesWorkflow.open_renewal, cmd, request_id)

    async def close_relationship(
        self, deal_id: str, cmd: CloseRelationship, *, request_id: str | None = None
    ) -> RelationshipState:
        return await self._execute_relationship(deal_id, AfterSalesWorkflow.close, cmd, request_id)

    async def _execute_relationship(
        self, deal_id: str, update: Any, cmd: BaseModel, request_id: str | None
    ) -> RelationshipState:
        rid = request_id or new_request_id()
        handle = self._relationship(deal_id)
        return await self._call(
            RELATIONSHIP, relationship_id(deal_id), lambda: handle.execute_update(update, cmd, id=rid), rid
        )

    async def _call(
        self,
        kind: WorkflowKind,
        workflow_id: str,
        call: Callable[[], Awaitable[T]],
        request_id: str | None = None,
    ) -> T:
        """Run an update (`request_id` is its update id) or a query, watched for a missing worker,
        turning what Temporal answers into the application's errors."""
        try:
            return await self._watch.call(call(), workflow_id, request_id)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "RuleViolation":
                rule = str(cause.details[0]) if cause.details else "rule"
                raise Refused(rule, cause.message) from None
            raise
        except WorkflowQueryFailedError as err:
            # A deal the worker refused at opening (an unknown pipeline) has no state: its query
            # answers with the rule, which is the answer to give.
            named = re.match(r"\[([a-z0-9-]+)\] (.*)", err.message, re.DOTALL)
            if named is None:
                raise
            raise Refused(named[1], named[2]) from None
        except (RPCError, RPCTimeoutOrCancelledError) as err:
            if not isinstance(err, RPCError) or err.status != RPCStatusCode.NOT_FOUND:
                raise unavailable(self._client, err, request_id) from None
        # NOT_FOUND is also the answer to an update sent to a workflow that has ended: if it is
        # this very update, retried after its answer was lost, answer as the first time.
        if request_id is not None:
            with contextlib.suppress(RPCError):
                done = await completed_update(self._client, workflow_id, request_id, kind.state)
                if done is not None:
                    return done  # type: ignore[return-value]
        raise await not_running(self._client, kind, workflow_id)


def new_request_id() -> str:
    return str(uuid.uuid4())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _refusing(check: Callable[[], T]) -> T:
    try:
        return check()
    except RuleViolation as err:
        raise Refused(err.rule, err.message) from None
