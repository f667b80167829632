"""One durable workflow per opportunity; its workflow id is the opportunity id.

Moves and decisions arrive as updates. Each validator asks the domain whether the command is
allowed, so a refused one is rejected before it reaches history and changes nothing. An accepted
command becomes domain events: applied to the state at once (synchronously, so concurrent handlers
see a consistent state), then appended to the event store by an activity before the update returns.
Appends run one at a time under a lock, so the store receives each stream in version order.

The run loop owns every timer: it sleeps until the earliest deadline (an unanswered discount
request, a silent legal review, an idle deal's SLA: `domain.deadlines`) or until the state
changes, whichever comes first, and then asks the domain what the deadline means (escalate, expire,
remind). `workflows.event_stream` does both for this workflow and for after-sales.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.after_sales import DealWon
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
    from domain.contracts import ClauseFailure
    from domain.deadlines import opportunity_deadline
    from domain.errors import RuleViolation
    from domain.events import StallEscalated, StallReminded
    from domain.follow_up import decide_touch
    from domain.negotiation import (
        decide_contract_checked,
        decide_contract_submit,
        decide_discount_request,
        decide_discount_vote,
        decide_legal,
    )
    from domain.opportunity import (
        OPPORTUNITY,
        OpportunityState,
        decide_advance,
        decide_lose,
        decide_open,
        decide_reopen,
    )
    from domain.stages import Stage
    from workflows import search_attributes as sa
    from workflows.event_sourcing import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, new_meta, notify, refusal
    from workflows.event_stream import EventStream
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
        self._refused: RuleViolation | None = None
        self._after_sales_started = False
        # Decided here, not in run(), so that an update delivered with the start already sees the lead.
        try:
            opened = decide_open(start.command, start.pipeline, new_meta())
        except RuleViolation as err:
            self._refused = err
            return
        self._stream = EventStream(
            OPPORTUNITY,
            OPPORTUNITY.apply(None, opened),
            [opened],
            on_change=self._publish,
            log_context=lambda s: {"opportunity_id": s.opportunity_id, "stage": s.status},
        )

    @workflow.run
    async def run(self, start: StartOpportunity) -> OpportunityState:
        if self._refused is not None:
            raise refusal(self._refused)
        self._publish()
        await self._stream.save()
        while self._state.stage is not Stage.AFTER_SALES:
            deadline = opportunity_deadline(self._state, self._pipeline)
            for event in await self._stream.until_change_or(deadline):
                if isinstance(event, StallReminded | StallEscalated):
                    await self._notify(event)
            await self._start_after_sales_once_won()
        await self._start_after_sales_once_won()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @property
    def _state(self) -> OpportunityState:
        return self._stream.state

    # --- queries and updates -------------------------------------------------------------------
    # Each update and its validator ask the domain the same question: the validator refuses what the
    # rules refuse; the handler asks again on the state it finds (`EventStream.handle`).

    @workflow.query
    def state(self) -> OpportunityState:
        if self._refused is not None:
            raise refusal(self._refused)
        return self._state

    @workflow.update
    async def advance(self, cmd: AdvanceStage) -> OpportunityState:
        return await self._stream.handle(lambda meta: decide_advance(self._state, self._pipeline, cmd, meta))

    @advance.validator
    def _validate_advance(self, cmd: AdvanceStage) -> None:
        self._stream.validate(lambda meta: decide_advance(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def mark_lost(self, cmd: MarkLost) -> OpportunityState:
        return await self._stream.handle(lambda meta: decide_lose(self._state, cmd, meta))

    @mark_lost.validator
    def _validate_mark_lost(self, cmd: MarkLost) -> None:
        self._stream.validate(lambda meta: decide_lose(self._state, cmd, meta))

    @workflow.update
    async def reopen(self, cmd: Reopen) -> OpportunityState:
        return await self._stream.handle(lambda meta: decide_reopen(self._state, cmd, meta))

    @reopen.validator
    def _validate_reopen(self, cmd: Reopen) -> None:
        self._stream.validate(lambda meta: decide_reopen(self._state, cmd, meta))

    @workflow.update
    async def log_touch(self, cmd: LogTouch) -> OpportunityState:
        """A call, visit or mail with the customer: restarts the stage's idle clock."""
        return await self._stream.handle(lambda meta: decide_touch(self._state, cmd, meta))

    @log_touch.validator
    def _validate_log_touch(self, cmd: LogTouch) -> None:
        self._stream.validate(lambda meta: decide_touch(self._state, cmd, meta))

    @workflow.update
    async def request_discount(self, cmd: RequestDiscount) -> OpportunityState:
        return await self._stream.handle(
            lambda meta: decide_discount_request(self._state, self._pipeline, cmd, meta)
        )

    @request_discount.validator
    def _validate_request_discount(self, cmd: RequestDiscount) -> None:
        self._stream.validate(lambda meta: decide_discount_request(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_discount(self, cmd: DecideDiscount) -> OpportunityState:
        return await self._stream.handle(
            lambda meta: decide_discount_vote(self._state, self._pipeline, cmd, meta)
        )

    @decide_discount.validator
    def _validate_decide_discount(self, cmd: DecideDiscount) -> None:
        self._stream.validate(lambda meta: decide_discount_vote(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def submit_contract(self, cmd: SubmitContract) -> OpportunityState:
        """Record the contract, run the clause checks, and return with their verdict."""
        await self._stream.handle(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))
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
        return await self._stream.handle(lambda meta: decide_contract_checked(self._state, failures, meta))

    @submit_contract.validator
    def _validate_submit_contract(self, cmd: SubmitContract) -> None:
        self._stream.validate(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_contract(self, cmd: DecideContract) -> OpportunityState:
        return await self._stream.handle(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    @decide_contract.validator
    def _validate_decide_contract(self, cmd: DecideContract) -> None:
        self._stream.validate(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    # --- follow-up notifications ----------------------------------------------------------------

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

    # --- search attributes -----------------------------------------------------------------------

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
