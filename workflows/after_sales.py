"""One durable workflow per won deal's customer relationship: years of revisits, feedback, renewals.

Its workflow id is `<deal id>.after-sales`; the won deal's workflow starts it (and may finish before
it). The run loop sleeps until the next revisit is due or the state changes. A revisit that comes due
is recorded (the previous one, unanswered, is marked missed) and the owner is given the revisit
task through the notification activity. After each revisit the run continues as new, carrying the
whole relationship in its input (and the update ids it handled: a client retrying a request id gets
the state, not a second renewal): a relationship that lasts years never grows a long history.

A renewal is started (and opened by its worker) before the relationship records it, one at a time,
so a renewal the worker refuses, or whose id is held by somebody else's workflow, is a refusal that
records nothing. Histories recorded before kept the old order (recorded, then started).
"""

import asyncio
from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.after_sales import (
        RELATIONSHIP,
        AfterSalesPolicy,
        CloseRelationship,
        OpenRenewal,
        RecordFeedback,
        RelationshipState,
        decide_close,
        decide_feedback,
        decide_renewal,
        decide_start,
        renewal_id,
    )
    from domain.commands import OpenOpportunity
    from domain.deadlines import relationship_deadline
    from domain.errors import RuleViolation
    from domain.events import EventMeta, RenewalOpened, RevisitDue
    from workflows.event_sourcing import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, new_meta, notify, refusal, validate
    from workflows.event_stream import EventStream
    from workflows.messages import START_RENEWAL, Notification, StartAfterSales, StartOpportunity

# Continue as new after this many revisits in one run (or earlier, when Temporal suggests it).
REVISITS_PER_RUN = 1
# Renewals opened since this patch are started before they are recorded.
RENEWAL_STARTED_FIRST = "renewal-started-first"


def _log_context(state: RelationshipState) -> dict[str, object]:
    return {"relationship_id": state.relationship_id}


@workflow.defn
class AfterSalesWorkflow:
    @workflow.init
    def __init__(self, start: StartAfterSales) -> None:
        if start.pipeline.after_sales is None:
            raise ValueError(f"pipeline {start.pipeline.id!r} has no after-sales policy")
        self._policy: AfterSalesPolicy = start.pipeline.after_sales
        self._bounds = start.pipeline.amount_bounds  # a renewal's amount, in the deal's currency and limits
        self._start = start
        self._revisits_this_run = 0
        self._one_renewal_at_a_time = asyncio.Lock()  # a renewal's id is the count of renewals so far
        if start.carried is not None:  # an earlier run saved everything it carried
            self._stream = EventStream(
                RELATIONSHIP, start.carried, log_context=_log_context, recent_updates=start.recent_updates
            )
            return
        started = decide_start(start.deal, new_meta())
        self._stream = EventStream(
            RELATIONSHIP, RELATIONSHIP.apply(None, started), [started], log_context=_log_context
        )

    @workflow.run
    async def run(self, start: StartAfterSales) -> RelationshipState:
        await self._stream.save()
        while self._state.closed is None:
            if self._revisits_this_run >= REVISITS_PER_RUN or self._stream.continue_as_new_due():
                await self._stream.drain()
                carried = {"carried": self._state, "recent_updates": self._stream.recent_updates}
                workflow.continue_as_new(start.model_copy(update=carried))
            deadline = relationship_deadline(self._state, self._policy)
            for event in await self._stream.until_change_or(deadline):
                if isinstance(event, RevisitDue):
                    self._revisits_this_run += 1
                    await self._give_revisit_task(event)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    @property
    def _state(self) -> RelationshipState:
        return self._stream.state

    @workflow.query
    def state(self) -> RelationshipState:
        return self._state

    @workflow.update
    async def record_feedback(self, cmd: RecordFeedback) -> RelationshipState:
        return await self._stream.handle(lambda meta: decide_feedback(self._state, cmd, meta))

    @record_feedback.validator
    def _validate_record_feedback(self, cmd: RecordFeedback) -> None:
        self._stream.validate(lambda meta: decide_feedback(self._state, cmd, meta))

    @workflow.update
    async def open_renewal(self, cmd: OpenRenewal) -> RelationshipState:
        """Start the renewal's opportunity, linked to this customer's won deal, and record it."""
        return await self._stream.once(lambda: self._open_renewal(cmd))

    async def _open_renewal(self, cmd: OpenRenewal) -> RelationshipState:
        if not workflow.patched(RENEWAL_STARTED_FIRST):  # recorded before: recorded, then started
            state = await self._stream.record(self._renewal(cmd))
            await self._start_renewal(state.renewals[-1], cmd)
            return self._state
        async with self._one_renewal_at_a_time:
            validate(self._renewal(cmd))  # refused: nothing starts
            renewal = renewal_id(self._state)
            try:
                await self._start_renewal(renewal, cmd)
            except ActivityError as err:  # retries are unlimited: only a refusal for good ends here
                cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
                raise refusal(RuleViolation("renewal-opened", f"no renewal was opened: {cause}")) from None
            return await self._stream.record(self._renewal(cmd))

    def _renewal(self, cmd: OpenRenewal) -> Callable[[EventMeta], RenewalOpened]:
        """The domain's decision on a renewal, in the deal's own currency and amount limits."""
        return lambda meta: decide_renewal(self._state, cmd, meta, self._bounds)

    async def _start_renewal(self, renewal: str, cmd: OpenRenewal) -> None:
        state = self._state
        lead = OpenOpportunity(
            opportunity_id=renewal,
            pipeline=state.pipeline,
            owner=state.owner,
            company=state.customer,
            contact_person=state.contact_person,
            source="renewal",
            amount=cmd.amount,
            renewal_of=state.deal_id,
            actor=cmd.actor,  # the renewal's opening records who asked for it
        )
        await workflow.execute_activity(
            START_RENEWAL,
            StartOpportunity(command=lead),  # the pipeline by name only: the worker owns the rules
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    @open_renewal.validator
    def _validate_open_renewal(self, cmd: OpenRenewal) -> None:
        self._stream.validate(self._renewal(cmd))

    @workflow.update
    async def close(self, cmd: CloseRelationship) -> RelationshipState:
        async with self._one_renewal_at_a_time:  # not while a renewal is being started
            return await self._stream.handle(lambda meta: decide_close(self._state, cmd, meta))

    @close.validator
    def _validate_close(self, cmd: CloseRelationship) -> None:
        self._stream.validate(lambda meta: decide_close(self._state, cmd, meta))

    # --- revisits -------------------------------------------------------------------------------

    async def _give_revisit_task(self, event: RevisitDue) -> None:
        s = self._state
        await notify(
            Notification(
                key=event.event_id,
                recipient=event.owner,
                kind=event.type,
                stream_id=event.stream_id,
                message=(
                    f"revisit {event.number} of {s.customer} ({s.contact_person}), won with {s.deal_id}"
                    f" on {s.won_at:%Y-%m-%d}: visit or call, ask for a score of 1-5 and record it with"
                    f" `dealflow aftersales feedback {s.deal_id} --score N --by {event.owner}`"
                ),
            )
        )
