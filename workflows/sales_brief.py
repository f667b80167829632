"""The sales brief workflow: the weekly Temporal Schedule starts one every Monday morning.

It compiles the last full period before its start time (workflow.now(), i.e. the scheduled time)
through an activity, which stores the brief in PostgreSQL for `starter.py brief show`.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.sales_brief import SalesBrief
    from workflows.event_sourcing import ACTIVITY_RETRY
    from workflows.messages import COMPILE_BRIEF, BriefRequest

WEEKLY_BRIEF_SCHEDULE_ID = "dealflow-weekly-sales-brief"


@workflow.defn
class SalesBriefWorkflow:
    @workflow.run
    async def run(self, request: BriefRequest) -> SalesBrief:
        brief: SalesBrief = await workflow.execute_activity(
            COMPILE_BRIEF,
            request.model_copy(update={"now": request.now or workflow.now()}),
            result_type=SalesBrief,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=ACTIVITY_RETRY,
        )
        return brief
