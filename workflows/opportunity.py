"""One durable workflow per opportunity; its workflow id is the opportunity id.

Moves and decisions arrive as updates. Each validator asks the domain whether the command is
allowed, so a refused one is rejected before it reaches history and changes nothing. (A discount
decision may also come as a signal, from a producer that cannot wait: its refusal is recorded.) An accepted
command becomes domain events: applied to the state at once (synchronously, so concurrent handlers
see a consistent state), then appended to the event store by an activity before the update returns.
Appends run one at a time under a lock, so the store receives each stream in version order.

The rules are the worker's: the lead names its pipeline, and the workflow's first step asks the
worker's catalog for it (an activity, so the answer is in history and replay is deterministic) and
pins that exact version (its content hash) for the deal's whole life. Updates that arrive before
that wait for it. A caller-supplied pipeline is used only by histories recorded before this rule.

The run loop owns every timer: it sleeps until the earliest deadline (an unanswered discount
request, a silent legal review, an idle deal's SLA: `domain.deadlines`) or until the state
changes, whichever comes first, and then asks the domain what the deadline means (escalate, expire,
remind). `workflows.event_stream` does both for this workflow and for after-sales. A long-lived
deal continues as new before its run nears Temporal's update limit, carrying everything it knows
(the update ids it handled among it: a client retrying a request id gets the state, not a repeat).
"""

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
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
    from domain.deadlines import opportunity_deadline
    from domain.discount_signals import decide_signalled_vote, rememberable
    from domain.errors import RuleViolation
    from domain.events import StallEscalated, StallReminded
    from domain.follow_up import decide_touch
    from domain.forecast import decide_move
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
        decide_lose,
        decide_open,
        decide_reopen,
    )
    from domain.pipeline import Pipeline
    from domain.stages import Stage
    from workflows.event_sourcing import Decide, new_meta, refusal
    from workflows.event_stream import EventStream
    from workflows.messages import CarriedOpportunity, StartOpportunity
    from workflows.opportunity_effects import (
        check_contract,
        decoded_decision,
        is_won,
        notify_stall,
        publish,
        resolve_pipeline,
        start_after_sales,
    )
    from workflows.opportunity_forecast import ForecastUpdates

# Workflows started since the worker owns the rules ignore a pipeline in their input.
PIPELINE_FROM_WORKER = "pipeline-from-worker"


@workflow.defn
class OpportunityWorkflow(ForecastUpdates):
    @workflow.init
    def __init__(self, start: StartOpportunity) -> None:
        self._refused: RuleViolation | None = None
        self._stream: EventStream[OpportunityState] | None = None
        self._pipeline_version: str | None = None
        self._after_sales_started = False
        if start.carried is not None:  # an earlier run pinned the rules and saved everything
            self._carry_on(start.carried)
        elif start.pipeline is not None and not workflow.patched(PIPELINE_FROM_WORKER):
            # Recorded before the worker owned the rules: decided here, so that an update
            # delivered with the start already saw the lead.
            self._open(start.command, start.pipeline)

    @workflow.run
    async def run(self, start: StartOpportunity) -> OpportunityState | None:
        try:
            return await self._run(start)
        except ApplicationError:  # the deal fails (a refused lead, a stranger's after-sales id)...
            await workflow.wait_condition(
                workflow.all_handlers_finished
            )  # ...once every caller has its answer
            raise

    async def _run(self, start: StartOpportunity) -> OpportunityState | None:
        if self._stream is None and self._refused is None:
            try:
                pipeline, self._pipeline_version = await resolve_pipeline(start.command.pipeline)
            except RuleViolation as unknown:  # record nothing, answer every caller, and end
                self._refused = unknown
                workflow.logger.error("%s: %s", start.command.opportunity_id, unknown.message)
                await workflow.wait_condition(workflow.all_handlers_finished)
                return None
            self._open(start.command, pipeline)
        if self._refused is not None:
            raise refusal(self._refused)
        self._publish()
        await self._opened.save()
        while self._state.stage is not Stage.AFTER_SALES:
            if self._opened.continue_as_new_due():
                await self._opened.drain()
                workflow.continue_as_new(
                    start.model_copy(update={"pipeline": None, "carried": self._carried()})
                )
            deadline = opportunity_deadline(self._state, self._pipeline)
            for event in await self._opened.until_change_or(deadline, wake=self._opened.continue_as_new_due):
                if isinstance(event, StallReminded | StallEscalated):
                    await notify_stall(self._state, event)
            await self._start_after_sales_once_won()
        await self._start_after_sales_once_won()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    def _open(self, command: OpenOpportunity, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        try:
            opened = decide_open(command, pipeline, new_meta())
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

    def _carry_on(self, carried: CarriedOpportunity) -> None:
        self._pipeline = carried.pipeline
        self._pipeline_version = carried.pipeline_version
        self._after_sales_started = carried.after_sales_started
        self._stream = EventStream(
            OPPORTUNITY,
            carried.state,
            on_change=self._publish,
            log_context=lambda s: {"opportunity_id": s.opportunity_id, "stage": s.status},
            recent_updates=carried.recent_updates,
        )

    def _carried(self) -> CarriedOpportunity:
        return CarriedOpportunity(
            state=self._state,
            pipeline=self._pipeline,
            pipeline_version=self._pipeline_version,
            after_sales_started=self._after_sales_started,
            recent_updates=self._opened.recent_updates,
        )

    @property
    def _opened(self) -> EventStream[OpportunityState]:
        assert self._stream is not None  # run() and the handlers wait for the opening
        return self._stream

    @property
    def _state(self) -> OpportunityState:
        return self._opened.state

    async def _ready(self) -> EventStream[OpportunityState]:
        """For handlers: the stream once the lead is open (an update may arrive with the start)."""
        if self._stream is None:
            await workflow.wait_condition(lambda: self._stream is not None or self._refused is not None)
        if self._refused is not None:
            raise refusal(self._refused)
        return self._opened

    async def _handle(self, decide: Decide) -> OpportunityState:
        return await (await self._ready()).handle(decide)

    def _validate(self, decide: Decide) -> None:
        if self._refused is not None:
            raise refusal(self._refused)
        if self._stream is not None:  # before the opening the handler decides, once it is open
            self._stream.validate(decide)

    # --- queries and updates -------------------------------------------------------------------
    # Each update and its validator ask the domain the same question: the validator refuses what the
    # rules refuse; the handler asks again on the state it finds (`EventStream.handle`).

    @workflow.query
    def state(self) -> OpportunityState:
        if self._refused is not None:
            raise refusal(self._refused)
        if self._stream is None:
            raise ApplicationError("the opportunity is still being opened", type="NotOpenYet")
        return self._state

    @workflow.query
    def pipeline_version(self) -> str | None:
        """The content hash of the pipeline version this deal is pinned to (store.pipeline_versions);
        None for deals whose caller sent the pipeline."""
        return self._pipeline_version

    @workflow.update
    async def opened(self) -> OpportunityState:
        """Returns once the worker has opened the lead (or refuses it: unknown pipeline, bad lead)."""
        stream = await self._ready()
        stream.updates_this_run += 1
        return stream.state

    @workflow.update
    async def advance(self, cmd: AdvanceStage) -> OpportunityState:
        return await self._handle(lambda meta: self._move(cmd, meta))

    @advance.validator
    def _validate_advance(self, cmd: AdvanceStage) -> None:
        self._validate(lambda meta: decide_move(self._state, self._pipeline, cmd, meta))

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

    @workflow.signal
    async def decide_discount_signal(self, *payload: object) -> None:
        """`decide_discount` for producers that cannot wait for the answer (a mail-reply handler, a
        chat bot), its payload a `DiscountDecisionSignal`: the same rules decide; accepted, it
        records what the update would; refused, a DiscountDecisionRefused that changes nothing
        else. Once per request id (across runs, as updates). It never fails the deal: a payload
        that is no decision is dropped with a warning (decoded here, not by the SDK, so that no
        shape of payload can fail the task), and a decision that comes to a deal refused at
        opening is logged and dropped."""
        signal = decoded_decision(payload)
        if signal is None:
            return
        await workflow.wait_condition(lambda: self._stream is not None or self._refused is not None)
        if self._stream is None:
            workflow.logger.warning("discount decision %s: no deal was opened", signal.request_id)
            return
        key = signal.request_id if rememberable(signal.request_id) else None
        decision, rid = signal.decision, signal.request_id
        await self._stream.handle_signal(
            key, lambda meta: decide_signalled_vote(self._state, self._pipeline, decision, rid, meta)
        )

    @workflow.update
    async def submit_contract(self, cmd: SubmitContract) -> OpportunityState:
        """Record the contract, run the clause checks, and return with their verdict."""
        return await (await self._ready()).once(lambda: self._submit_contract(cmd))

    async def _submit_contract(self, cmd: SubmitContract) -> OpportunityState:
        await self._opened.record(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))
        failures = await check_contract(self._state, self._pipeline)
        # The verdict is the engine's, not the submitter's: ContractChecked records no actor.
        return await self._opened.record(lambda meta: decide_contract_checked(self._state, failures, meta))

    @submit_contract.validator
    def _validate_submit_contract(self, cmd: SubmitContract) -> None:
        self._validate(lambda meta: decide_contract_submit(self._state, self._pipeline, cmd, meta))

    @workflow.update
    async def decide_contract(self, cmd: DecideContract) -> OpportunityState:
        return await self._handle(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    @decide_contract.validator
    def _validate_decide_contract(self, cmd: DecideContract) -> None:
        self._validate(lambda meta: decide_legal(self._state, self._pipeline, cmd, meta))

    # --- after-sales ---------------------------------------------------------------------------

    async def _start_after_sales_once_won(self) -> None:
        if self._pipeline.after_sales is None or self._after_sales_started or not is_won(self._state):
            return
        self._after_sales_started = True
        await start_after_sales(self._state, self._pipeline)

    def _publish(self) -> None:
        publish(self._state)
