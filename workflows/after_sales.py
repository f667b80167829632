"""One durable workflow per won deal's customer relationship: years of revisits, feedback, renewals.

Its workflow id is `<deal id>.after-sales`; the won deal's workflow starts it (and may finish before
it). The run loop sleeps until the next revisit is due or the state changes. A revisit that comes due
is recorded (the previous one, unanswered, is marked missed) and the owner is given the revisit
task through the notification activity. After each revisit the run continues as new, carrying the
whole relationship in its input: a relationship that lasts years never grows a long history.
"""

from temporalio import workflow

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
    )
    from domain.commands import OpenOpportunity
    from domain.deadlines import relationship_deadline
    from domain.events import RevisitDue
    from workflows.event_sourcing import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, new_meta, notify
    from workflows.event_stream import EventStream
    from workflows.messages import START_RENEWAL, Notification, StartAfterSales, StartOpportunity

# Continue as new after this many revisits in one run (or earlier, when Temporal suggests it).
REVISITS_PER_RUN = 1


def _log_context(state: RelationshipState) -> dict[str, object]:
    return {"relationship_id": state.relationship_id}


@workflow.defn
class AfterSalesWorkflow:
    @workflow.init
    def __init__(self, start: StartAfterSales) -> None:
        if start.pipeline.after_sales is None:
            raise ValueError(f"pipeline {start.pipeline.id!r} has no after-sales policy")
        self._policy: AfterSalesPolicy = start.pipeline.after_sales
        self._start = start
        self._revisits_this_run = 0
        if start.carried is not None:  # an earlier run saved everything it carried
            self._stream = EventStream(RELATIONSHIP, start.carried, log_context=_log_context)
            return
        started = decide_start(start.deal, new_meta())
        self._stream = EventStream(
            RELATIONSHIP, RELATIONSHIP.apply(None, started), [started], log_context=_log_context
        )

    @workflow.run
    async def run(self, start: StartAfterSales) -> RelationshipState:
        await self._stream.save()
        while self._state.closed is None:
            if self._revisits_this_run >= REVISITS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._stream.save()
                workflow.continue_as_new(start.model_copy(update={"carried": self._state}))
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
        """Record the renewal and start its opportunity, linked to this customer's won deal."""
        state = await self._stream.handle(lambda meta: decide_renewal(self._state, cmd, meta))
        renewal_id = state.renewals[-1]
        lead = OpenOpportunity(
            opportunity_id=renewal_id,
            pipeline=state.pipeline,
            owner=state.owner,
            company=state.customer,
            contact_person=state.contact_person,
            source="renewal",
            amount=cmd.amount,
            renewal_of=state.deal_id,
        )
        await workflow.execute_activity(
            START_RENEWAL,
            StartOpportunity(command=lead, pipeline=self._start.pipeline),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return self._state

    @open_renewal.validator
    def _validate_open_renewal(self, cmd: OpenRenewal) -> None:
        self._stream.validate(lambda meta: decide_renewal(self._state, cmd, meta))

    @workflow.update
    async def close(self, cmd: CloseRelationship) -> RelationshipState:
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
