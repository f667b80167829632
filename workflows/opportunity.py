"""One durable workflow per opportunity; its workflow id is the opportunity id.

Moves and decisions arrive as updates. Each validator asks the domain whether the command is
allowed, so a refused one is rejected before it reaches history and changes nothing. An accepted
command becomes domain events: applied to the state at once (synchronously, so concurrent handlers
see a consistent state), then appended to the event store by an activity before the update returns.
Appends run one at a time under a lock, so the store receives each stream in version order.

The run loop owns every timer: it sleeps until the earliest deadline (an unanswered discount
request, a silent legal review) or until the state changes, whichever comes first, and then asks
the domain what the deadline means (escalate, expire).
"""

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.approvals import RequestStatus
    from domain.commands import (
        AdvanceStage,
        DecideContract,
        DecideDiscount,
        LogTouch,
        MarkLost,
        Reopen,
        RequestDiscount,
        SubmitContract,
    )
    from domain.contracts import ClauseFailure, ReviewStatus
    from domain.errors import RuleViolation
    from domain.events import DomainEvent, EventMeta, StallEscalated, StallReminded
    from domain.follow_up import decide_stall, decide_touch, stall_deadline
    from domain.negotiation import (
        decide_contract_checked,
        decide_contract_submit,
        decide_discount_request,
        decide_discount_timeout,
        decide_discount_vote,
        decide_legal,
        decide_legal_timeout,
    )
    from domain.opportunity import (
        OpportunityState,
        apply,
        decide_advance,
        decide_lose,
        decide_open,
        decide_reopen,
    )
    from domain.stages import Stage
    from workflows import search_attributes as sa
    from workflows.messages import (
        APPEND_EVENTS,
        CHECK_CONTRACT,
        NOTIFY,
        ContractCheckRequest,
        EventBatch,
        Notification,
        StartOpportunity,
    )

_ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
_ACTIVITY_TIMEOUT = timedelta(seconds=10)

Decision = DomainEvent | list[DomainEvent]
Decide = Callable[[EventMeta], Decision]


def _refusal(err: RuleViolation) -> ApplicationError:
    return ApplicationError(str(err), err.rule, type="RuleViolation", non_retryable=True)


@workflow.defn
class OpportunityWorkflow:
    @workflow.init
    def __init__(self, start: StartOpportunity) -> None:
        self._pipeline = start.pipeline
        self._unsaved: list[DomainEvent] = []
        self._save_lock = asyncio.Lock()
        self._refused: RuleViolation | None = None
        # Decided here, not in run(), so that an update delivered with the start already sees the lead.
        try:
            opened = decide_open(start.command, start.pipeline, self._meta())
        except RuleViolation as err:
            self._refused = err
            return
        self._state = apply(None, opened)
        self._unsaved.append(opened)

    @workflow.run
    async def run(self, start: StartOpportunity) -> OpportunityState:
        if self._refused is not None:
            raise _refusal(self._refused)
        self._publish()
        await self._save()
        while self._state.stage is not Stage.AFTER_SALES:
            await self._wait_for_change_or_deadline()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    # --- queries and updates -------------------------------------------------------------------

    @workflow.query
    def state(self) -> OpportunityState:
        if self._refused is not None:
            raise _refusal(self._refused)
        return self._state

    @workflow.update
    async def advance(self, cmd: AdvanceStage) -> OpportunityState:
        return await self._handle(lambda meta: decide_advance(self._state, self._pipeline, cmd, meta))

    @advance.validator
    def _validate_advance(self, cmd: AdvanceStage) -> None:
        self._validate(lambda meta: decide_advance(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def mark_lost(self, cmd: MarkLost) -> OpportunityState:
        return await self._handle(lambda meta: decide_lose(self._state, cmd, meta))

    @mark_lost.validator
    def _validate_mark_lost(self, cmd: MarkLost) -> None:
        self._validate(lambda meta: decide_lose(self._state, cmd, meta))

    @workflow.update
    async def reopen(self, cmd: Reopen) -> OpportunityState:
        return await self._handle(lambda meta: decide_reopen(self._state, cmd, meta))

    @reopen.validator
    def _validate_reopen(self, cmd: Reopen) -> None:
        self._validate(lambda meta: decide_reopen(self._state, cmd, meta))

    @workflow.update
    async def log_touch(self, cmd: LogTouch) -> OpportunityState:
        """A call, visit or mail with the customer: restarts the stage's idle clock."""
        return await self._handle(lambda meta: decide_touch(self._state, cmd, meta))

    @log_touch.validator
    def _validate_log_touch(self, cmd: LogTouch) -> None:
        self._validate(lambda meta: decide_touch(self._state, cmd, meta))

    @workflow.update
    async def request_discount(self, cmd: RequestDiscount) -> OpportunityState:
        return await self._handle(
            lambda meta: decide_discount_request(self._state, self._pipeline, cmd, meta)
        )

    @request_discount.validator
    def _validate_request_discount(self, cmd: RequestDiscount) -> None:
        self._validate(lambda meta: decide_discount_request(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_discount(self, cmd: DecideDiscount) -> OpportunityState:
        return await self._handle(lambda meta: decide_discount_vote(self._state, self._pipeline, cmd, meta))

    @decide_discount.validator
    def _validate_decide_discount(self, cmd: DecideDiscount) -> None:
        self._validate(lambda meta: decide_discount_vote(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def submit_contract(self, cmd: SubmitContract) -> OpportunityState:
        """Record the contract, run the clause checks, and return with their verdict."""
        await self._handle(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))
        assert self._pipeline.contract is not None  # decide_contract_submit refuses otherwise
        failures: list[ClauseFailure] = await workflow.execute_activity(
            CHECK_CONTRACT,
            ContractCheckRequest(
                contract=cmd.contract,
                policy=self._pipeline.contract,
                quote=self._state.amount,
                approved_discount=self._state.approved_discount,
            ),
            result_type=list[ClauseFailure],
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_ACTIVITY_RETRY,
        )
        return await self._handle(lambda meta: decide_contract_checked(self._state, failures, meta))

    @submit_contract.validator
    def _validate_submit_contract(self, cmd: SubmitContract) -> None:
        self._validate(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_contract(self, cmd: DecideContract) -> OpportunityState:
        return await self._handle(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    @decide_contract.validator
    def _validate_decide_contract(self, cmd: DecideContract) -> None:
        self._validate(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    # --- timers --------------------------------------------------------------------------------

    def _next_deadline(self) -> tuple[datetime, Decide] | None:
        """The earliest pending deadline and what to decide when it passes."""
        deadlines: list[tuple[datetime, Decide]] = []
        request, policy = self._state.discount_request, self._pipeline.approvals
        if request and policy and request.status is RequestStatus.PENDING and request.level is not None:
            deadlines.append(
                (
                    request.level_since + timedelta(hours=policy.timeout_hours),
                    lambda meta: decide_discount_timeout(self._state, self._pipeline, meta),
                )
            )
        review, contract_policy = self._state.contract, self._pipeline.contract
        if review and contract_policy and review.status is ReviewStatus.AWAITING_LEGAL:
            hours = (
                contract_policy.legal_escalation_hours
                if review.escalated
                else contract_policy.legal_timeout_hours
            )
            deadlines.append(
                (
                    review.since + timedelta(hours=hours),
                    lambda meta: decide_legal_timeout(self._state, meta),
                )
            )
        follow_up = self._pipeline.follow_up
        if (
            follow_up is not None
            and (idle := stall_deadline(self._state, self._pipeline, follow_up)) is not None
        ):
            deadlines.append((idle, lambda meta: decide_stall(self._state, self._pipeline, follow_up, meta)))
        return min(deadlines, key=lambda d: d[0], default=None)

    async def _wait_for_change_or_deadline(self) -> None:
        version = self._state.version
        due = self._next_deadline()
        timeout = None if due is None else max(due[0] - workflow.now(), timedelta(milliseconds=1))
        try:
            await workflow.wait_condition(lambda: self._state.version != version, timeout=timeout)
        except TimeoutError:
            assert due is not None
            events = self._decide(due[1])
            self._emit(events)
            await self._save()
            for event in events:
                if isinstance(event, StallReminded | StallEscalated):
                    await self._notify(event)

    async def _notify(self, event: StallReminded | StallEscalated) -> None:
        idle = f"idle for {event.idle_days:g} days in {event.stage}"
        message = (
            f"{self._state.opportunity_id} ({self._state.company}) is {idle}: please follow up"
            if isinstance(event, StallReminded)
            else f"{self._state.opportunity_id} ({self._state.company}) of {event.owner} is {idle}"
        )
        await workflow.execute_activity(
            NOTIFY,
            Notification(
                key=event.event_id,
                recipient=event.recipient,
                kind=event.type,
                opportunity_id=event.opportunity_id,
                message=message,
            ),
            start_to_close_timeout=_ACTIVITY_TIMEOUT,
            retry_policy=_ACTIVITY_RETRY,
        )

    # --- machinery -----------------------------------------------------------------------------

    def _meta(self) -> EventMeta:
        return EventMeta(event_id=str(workflow.uuid4()), occurred_at=workflow.now())

    def _validate(self, decide: Decide) -> None:
        # Validators must not touch workflow state or the deterministic RNG: use a placeholder id.
        try:
            decide(EventMeta(event_id="validation", occurred_at=workflow.now()))
        except RuleViolation as err:
            raise _refusal(err) from None

    def _decide(self, decide: Decide) -> Sequence[DomainEvent]:
        try:
            decision = decide(self._meta())
        except RuleViolation as err:
            raise _refusal(err) from None
        return decision if isinstance(decision, list) else [decision]

    async def _handle(self, decide: Decide) -> OpportunityState:
        # The state may have moved between validation and here (another update ran): decide again.
        self._emit(self._decide(decide))
        await self._save()
        return self._state

    def _emit(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._state = apply(self._state, event)
            self._unsaved.append(event)
            workflow.logger.info(
                "%s",
                event.type,
                extra={"opportunity_id": self._state.opportunity_id, "stage": self._state.status},
            )
        if events:
            self._publish()

    def _publish(self) -> None:
        s = self._state
        workflow.upsert_search_attributes(
            [
                sa.STAGE.value_set(s.status),
                sa.OWNER.value_set(s.owner),
                sa.PIPELINE.value_set(s.pipeline),
                sa.AMOUNT.value_set(float(s.amount)),
            ]
        )

    async def _save(self) -> None:
        async with self._save_lock:
            if not self._unsaved:
                return  # an earlier caller's batch already carried our events
            batch = list(self._unsaved)
            await workflow.execute_activity(
                APPEND_EVENTS,
                EventBatch(events=batch),
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=_ACTIVITY_RETRY,
            )
            del self._unsaved[: len(batch)]
