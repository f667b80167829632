"""The engine's ceiling: a bare Temporal workflow of the same shape as an opportunity's lifecycle
(started, then one update per stage that runs one activity), and nothing else: no domain rules, no
event store, no timers, no search attributes."""

from datetime import timedelta

from temporalio import activity, workflow

STAGES = ("contact", "needs_analysis", "proposal", "negotiation", "deal", "after_sales")


@activity.defn(name="bare_step")
async def bare_step(stage: str) -> str:
    return stage


@workflow.defn(name="BareLifecycle")
class BareLifecycle:
    def __init__(self) -> None:
        self._stage = "identify"

    @workflow.run
    async def run(self, opportunity_id: str) -> str:
        await workflow.wait_condition(lambda: self._stage == STAGES[-1] and workflow.all_handlers_finished())
        return opportunity_id

    @workflow.update
    async def advance(self, stage: str) -> str:
        self._stage = await workflow.execute_activity(
            bare_step, stage, start_to_close_timeout=timedelta(seconds=30)
        )
        return self._stage
