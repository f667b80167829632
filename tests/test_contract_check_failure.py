"""A contract the clause checks cannot judge is a failed verdict, never a contract "checking" for
good: the check activity is replaced by name (as temporalio's samples test activities) with one that
refuses its input for good, and the deal must come back asking for a redraft."""

import uuid

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.worker_activities import engine_activities
from domain.commands import AdvanceStage, SubmitContract
from domain.contracts import ClauseCheck, ReviewStatus
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, Stage
from store.event_store import EventStore
from tests.conftest import TrackingDealClient
from tests.factories import ALL_FACTS, good_contract, open_cmd
from workflows.after_sales import AfterSalesWorkflow
from workflows.messages import CHECK_CONTRACT, ContractCheckRequest
from workflows.opportunity import OpportunityWorkflow


@activity.defn(name=CHECK_CONTRACT)
async def check_that_cannot_judge(request: ContractCheckRequest) -> list[object]:
    raise ApplicationError("a figure no check can read", type="BadContractInput", non_retryable=True)


async def test_a_check_that_cannot_run_sends_the_contract_back(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    env, queue, catalog = time_skipping_env, f"tq-{uuid.uuid4().hex[:8]}", load_catalog()
    activities = [a for a in engine_activities(env.client, store, catalog) if a.__name__ != "check_contract"]
    deals = TrackingDealClient(env.client, catalog, queue)
    oid = f"opp-{uuid.uuid4().hex[:10]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[OpportunityWorkflow, AfterSalesWorkflow],
        activities=[*activities, check_that_cannot_judge],
    ):
        await deals.open(open_cmd(oid))
        for stage in STAGE_ORDER[1 : STAGE_ORDER.index(Stage.NEGOTIATION) + 1]:
            state = await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
        state = await deals.submit_contract(oid, SubmitContract(contract=good_contract(state)))
        await env.client.get_workflow_handle(oid).terminate("test finished")
    review = state.contract
    assert review is not None
    assert review.status is ReviewStatus.CHECKS_FAILED
    assert [f.check for f in review.failures] == [ClauseCheck.CHECKS_RAN]
    assert "a figure no check can read" in review.failures[0].detail
    stored = [e.type for e in await store.read_stream(oid)]
    assert stored[-2:] == ["ContractSubmitted", "ContractChecked"]
