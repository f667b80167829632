"""One durable workflow per opportunity; its workflow id is the opportunity id.

Moves arrive as updates. Each validator asks the domain whether the move is allowed, so a refused
move is rejected before it reaches history and changes nothing. An accepted move becomes a domain
event: applied to the state at once (synchronously, so concurrent handlers see a consistent state),
then appended to the event store by an activity before the update returns. Appends run one at a time
under a lock, so the store receives each stream in version order.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.commands import AdvanceStage, MarkLost, Reopen
    from domain.errors import RuleViolation
    from domain.events import DomainEvent, EventMeta
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
    from workflows.messages import APPEND_EVENTS, EventBatch, StartOpportunity

_APPEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


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
        await workflow.wait_condition(lambda: self._state.stage is Stage.AFTER_SALES)
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

    # --- machinery -----------------------------------------------------------------------------

    def _meta(self) -> EventMeta:
        return EventMeta(event_id=str(workflow.uuid4()), occurred_at=workflow.now())

    def _validate(self, decide: Callable[[EventMeta], DomainEvent]) -> None:
        # Validators must not touch workflow state or the deterministic RNG: use a placeholder id.
        try:
            decide(EventMeta(event_id="validation", occurred_at=workflow.now()))
        except RuleViolation as err:
            raise _refusal(err) from None

    async def _handle(self, decide: Callable[[EventMeta], DomainEvent]) -> OpportunityState:
        # The state may have moved between validation and here (another update ran): decide again.
        try:
            event = decide(self._meta())
        except RuleViolation as err:
            raise _refusal(err) from None
        self._state = apply(self._state, event)
        self._unsaved.append(event)
        self._publish()
        workflow.logger.info(
            "%s",
            event.type,
            extra={"opportunity_id": self._state.opportunity_id, "stage": self._state.status},
        )
        await self._save()
        return self._state

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
                return  # an earlier caller's batch already carried our event
            batch = list(self._unsaved)
            await workflow.execute_activity(
                APPEND_EVENTS,
                EventBatch(events=batch),
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=_APPEND_RETRY,
            )
            del self._unsaved[: len(batch)]
