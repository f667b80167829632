"""What a caller sends cannot forge the rules, wedge a deal or land on somebody else's workflow:
the worker's pipeline wins over the caller's, an unknown one records nothing, the store's refusal is
the command's refusal, and an id held by a stranger is never taken for ours."""

import contextlib
import uuid
from decimal import Decimal

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.event_store_activities import EventStoreActivities
from app.errors import Refused
from domain.after_sales import OpenRenewal, relationship_id
from domain.commands import AdvanceStage, LogTouch, RequestDiscount
from domain.events import EventMeta
from domain.opportunity import decide_open
from domain.pipeline import PipelineCatalog, load_catalog
from domain.stages import STAGE_ORDER, Stage
from store.event_store import EventStore
from store.pipeline_versions import pipeline_version, pipeline_versions
from tests.engine import engine_deals
from tests.factories import ALL_FACTS, T0, open_cmd, relationship_when, sign_off, through_all_stages
from workflows.after_sales import AfterSalesWorkflow
from workflows.messages import EventBatch, StartOpportunity
from workflows.opportunity import OpportunityWorkflow

SHIPPED = load_catalog()


def new_id() -> str:
    return f"opp-{uuid.uuid4().hex[:10]}"


def forged_catalog() -> PipelineCatalog:
    """A copied pipeline file in which a rep may grant any discount alone."""
    software = SHIPPED.get("software")
    assert software.approvals is not None
    generous = software.approvals.model_copy(update={"owner_limit": Decimal(100)})
    return PipelineCatalog(
        pipelines={**SHIPPED.pipelines, "software": software.model_copy(update={"approvals": generous})}
    )


async def test_the_workers_pipeline_wins_over_the_callers_copy(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    async with engine_deals(time_skipping_env, store, client_catalog=forged_catalog()) as deals:
        oid = new_id()
        handle = await deals.open(open_cmd(oid))
        for stage in STAGE_ORDER[1:5]:
            await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
        with pytest.raises(Refused):  # beyond the director's 30 % in the worker's rules
            await deals.request_discount(oid, RequestDiscount(discount=Decimal(99)))
        state = await deals.request_discount(oid, RequestDiscount(discount=Decimal(20)))
        assert state.discount_request is not None  # the director is asked
        assert state.approved_discount == 0
        pinned = await handle.query(OpportunityWorkflow.pipeline_version)
    assert pinned == pipeline_version(SHIPPED.get("software"))
    [stored] = await pipeline_versions(store, "software")
    assert (stored.hash, stored.pipeline) == (pinned, SHIPPED.get("software"))


async def test_a_pipeline_the_worker_does_not_know_records_nothing_and_completes(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    only_software = PipelineCatalog(pipelines={"software": SHIPPED.get("software")})
    async with engine_deals(time_skipping_env, store, worker_catalog=only_software) as deals:
        oid = new_id()
        with pytest.raises(Refused) as refused:
            await deals.open(open_cmd(oid, pipeline="services"))
        assert refused.value.rule == "unknown-pipeline"
        handle = time_skipping_env.client.get_workflow_handle_for(OpportunityWorkflow.run, oid)
        assert await handle.result() is None
        with pytest.raises(Refused) as shown:  # looking it up later says why, not a query failure
            await deals.show(oid)
        assert shown.value.rule == "unknown-pipeline"
    assert await store.read_stream(oid) == []
    assert await pipeline_versions(store, "services") == []


async def test_events_postgresql_refuses_fail_for_good_not_forever(store: EventStore) -> None:
    lead = open_cmd("opp-nul")
    opened = decide_open(lead, SHIPPED.get("software"), EventMeta(event_id="e-1", occurred_at=T0))
    poisoned = opened.model_copy(update={"company": "Ac\x00me"})
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(
            EventStoreActivities(store).append_events, EventBatch(events=[poisoned])
        )
    assert (refused.value.type, refused.value.non_retryable) == ("EventRefused", True)
    assert await store.read_stream("opp-nul") == []


async def test_a_batch_the_store_refuses_is_the_commands_refusal_and_the_deal_answers_on(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    async with engine_deals(time_skipping_env, store) as deals:
        oid = new_id()
        await deals.open(open_cmd(oid))
        state = await deals.log_touch(oid, LogTouch(kind="call", by="alice"))
        # Somebody else's event at the deal's next version: the store refuses the deal's own.
        opened = decide_open(open_cmd(oid), SHIPPED.get("software"), EventMeta(event_id="x", occurred_at=T0))
        stranger = opened.model_copy(update={"version": state.version + 1, "event_id": "stranger"})
        await store.append([stranger])
        with pytest.raises(Refused) as refused:
            await deals.log_touch(oid, LogTouch(kind="visit", by="alice"))
        assert refused.value.rule == "event-store-refused"
        after = await deals.show(oid)
        assert after.version == state.version  # rolled back to what the store holds
        assert [e.event_id for e in await store.read_stream(oid)][-1] == "stranger"


async def test_an_after_sales_id_held_by_a_stranger_fails_the_deal_loudly(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    client = time_skipping_env.client
    async with engine_deals(time_skipping_env, store) as deals:
        oid = new_id()
        stranger = await client.start_workflow(
            OpportunityWorkflow.run,
            StartOpportunity(command=open_cmd(f"x-{oid}")),
            id=relationship_id(oid),
            task_queue=deals.task_queue,
        )
        handle = await deals.open(open_cmd(oid))
        for stage in STAGE_ORDER[1:6]:  # up to the win, where the relationship would start
            if stage is Stage.DEAL:
                await sign_off(deals, oid)
            await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        with contextlib.suppress(RPCError):
            await stranger.terminate("test finished")
        deals.started.remove(oid)  # its relationship is the stranger: nothing to close
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "AfterSalesNotStarted"
    assert "is held by" in cause.message


async def test_a_renewal_id_held_by_a_stranger_is_refused_and_records_nothing(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> None:
    client = time_skipping_env.client
    async with engine_deals(time_skipping_env, store) as deals:
        oid = new_id()
        await deals.open(open_cmd(oid))
        await through_all_stages(deals, oid)
        await relationship_when(deals, oid, lambda s: s.version >= 1)
        stranger = await client.start_workflow(
            OpportunityWorkflow.run,
            StartOpportunity(command=open_cmd(f"{oid}-renewal-1", company="Somebody Else")),
            id=f"{oid}-renewal-1",
            task_queue=deals.task_queue,
        )
        with pytest.raises(Refused) as refused:
            await deals.open_renewal(oid, OpenRenewal(amount=Decimal(5_000), by="alice"))
        assert refused.value.rule == "renewal-opened"
        assert "is held by" in refused.value.message
        relationship = await client.get_workflow_handle_for(
            AfterSalesWorkflow.run, relationship_id(oid)
        ).query(AfterSalesWorkflow.state)
        assert relationship.renewals == []
        with contextlib.suppress(RPCError):
            await stranger.terminate("test finished")
    assert "RenewalOpened" not in {e.type for e in await store.read_stream(relationship_id(oid))}


async def test_a_database_that_is_down_is_trouble_to_retry_not_a_refusal() -> None:
    pool: AsyncConnectionPool[AsyncConnection[tuple[object, ...]]] = AsyncConnectionPool(
        "postgresql://nobody@127.0.0.1:1/none", open=False, timeout=0.5, kwargs={"connect_timeout": 1}
    )
    await pool.open(wait=False)
    down = EventStore(pool)
    lead = decide_open(
        open_cmd("opp-down"), SHIPPED.get("software"), EventMeta(event_id="d-1", occurred_at=T0)
    )
    try:
        with pytest.raises(Exception) as failed:  # noqa: PT011 - whatever psycopg raises, it is not ours
            await ActivityEnvironment().run(
                EventStoreActivities(down).append_events, EventBatch(events=[lead])
            )
        assert not isinstance(failed.value, ApplicationError)  # so Temporal retries it with backoff
    finally:
        await pool.close()
