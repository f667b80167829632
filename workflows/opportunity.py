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

from collections.abc import Sequence
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.after_sales import DealWon
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
    from domain.events import DomainEvent, StallEscalated, StallReminded
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
    from workflows.event_sourcing import (
        ACTIVITY_RETRY,
        ACTIVITY_TIMEOUT,
        Decide,
        Journal,
        decide_now,
        new_meta,
        notify,
        refusal,
        validate,
    )
    from workflows.messages import (
        CHECK_CONTRACT,
        START_AFTER_SALES,
        ContractCheckRequest,
        Notification,
        StartAfterSales,
        StartOpportunity,
    )


@workflow.defn
class OpportunityWorkflow:
    @workflow.init
    def __init__(self, start: StartOpportunity) -> None:
        self._pipeline = start.pipeline
        self._journal = Journal()
        self._refused: RuleViolation | None = None
        self._after_sales_started = False
        # Decided here, not in run(), so that an update delivered with the start already sees the lead.
        try:
            opened = decide_open(start.command, start.pipeline, new_meta())
        except RuleViolation as err:
            self._refused = err
            return
        self._state = apply(None, opened)
        self._journal.record([opened])

    @workflow.run
    async def run(self, start: StartOpportunity) -> OpportunityState:
        if self._refused is not None:
            raise refusal(self._refused)
        self._publish()
        await self._journal.save()
        while self._state.stage is not Stage.AFTER_SALES:
            await self._wait_for_change_or_deadline()
            await self._start_after_sales_once_won()
        await self._start_after_sales_once_won()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    # --- queries and updates -------------------------------------------------------------------

    @workflow.query
    def state(self) -> OpportunityState:
        if self._refused is not None:
            raise refusal(self._refused)
        return self._state

    @workflow.update
    async def advance(self, cmd: AdvanceStage) -> OpportunityState:
        return await self._handle(lambda meta: decide_advance(self._state, self._pipeline, cmd, meta))

    @advance.validator
    def _validate_advance(self, cmd: AdvanceStage) -> None:
        validate(lambda meta: decide_advance(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def mark_lost(self, cmd: MarkLost) -> OpportunityState:
        return await self._handle(lambda meta: decide_lose(self._state, cmd, meta))

    @mark_lost.validator
    def _validate_mark_lost(self, cmd: MarkLost) -> None:
        validate(lambda meta: decide_lose(self._state, cmd, meta))

    @workflow.update
    async def reopen(self, cmd: Reopen) -> OpportunityState:
        return await self._handle(lambda meta: decide_reopen(self._state, cmd, meta))

    @reopen.validator
    def _validate_reopen(self, cmd: Reopen) -> None:
        validate(lambda meta: decide_reopen(self._state, cmd, meta))

    @workflow.update
    async def log_touch(self, cmd: LogTouch) -> OpportunityState:
        """A call, visit or mail with the customer: restarts the stage's idle clock."""
        return await self._handle(lambda meta: decide_touch(self._state, cmd, meta))

    @log_touch.validator
    def _validate_log_touch(self, cmd: LogTouch) -> None:
        validate(lambda meta: decide_touch(self._state, cmd, meta))

    @workflow.update
    async def request_discount(self, cmd: RequestDiscount) -> OpportunityState:
        return await self._handle(
            lambda meta: decide_discount_request(self._state, self._pipeline, cmd, meta)
        )

    @request_discount.validator
    def _validate_request_discount(self, cmd: RequestDiscount) -> None:
        validate(lambda meta: decide_discount_request(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_discount(self, cmd: DecideDiscount) -> OpportunityState:
        return await self._handle(lambda meta: decide_discount_vote(self._state, self._pipeline, cmd, meta))

    @decide_discount.validator
    def _validate_decide_discount(self, cmd: DecideDiscount) -> None:
        validate(lambda meta: decide_discount_vote(self._state, self._pipeline, cmd, meta))

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
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return await self._handle(lambda meta: decide_contract_checked(self._state, failures, meta))

    @submit_contract.validator
    def _validate_submit_contract(self, cmd: SubmitContract) -> None:
        validate(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_contract(self, cmd: DecideContract) -> OpportunityState:
        return await self._handle(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    @decide_contract.validator
    def _validate_decide_contract(self, cmd: DecideContract) -> None:
        validate(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

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
            events = decide_now(due[1])
            self._emit(events)
            await self._journal.save()
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
        await notify(
            Notification(
                key=event.event_id,
                recipient=event.recipient,
                kind=event.type,
                stream_id=event.stream_id,
                message=message,
            )
        )

    # --- after-sales ---------------------------------------------------------------------------

    async def _start_after_sales_once_won(self) -> None:
        """A won deal hands the customer to after-sales: a workflow of its own that outlives this one."""
        policy = self._pipeline.after_sales
        if (
            policy is None
            or self._after_sales_started
            or self._state.stage not in (Stage.DEAL, Stage.AFTER_SALES)
        ):
            return
        self._after_sales_started = True
        s = self._state
        won_at = next(v.entered_at for v in s.timeline if v.stage is Stage.DEAL)
        deal = DealWon(
            deal_id=s.opportunity_id,
            pipeline=s.pipeline,
            owner=s.owner,
            customer=s.company,
            contact_person=s.contact_person,
            amount=s.amount,
            won_at=won_at,
        )
        await workflow.execute_activity(
            START_AFTER_SALES,
            StartAfterSales(deal=deal, pipeline=self._pipeline),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    # --- machinery -----------------------------------------------------------------------------

    async def _handle(self, decide: Decide) -> OpportunityState:
        # The state may have moved between validation and here (another update ran): decide again.
        self._emit(decide_now(decide))
        await self._journal.save()
        return self._state

    def _emit(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self._state = apply(self._state, event)
            workflow.logger.info(
                "%s",
                event.type,
                extra={"opportunity_id": self._state.opportunity_id, "stage": self._state.status},
            )
        self._journal.record(events)
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
