"""Discount decisions sent as signals (by producers that cannot wait): the update's rules decide
them, a refused one is recorded as DiscountDecisionRefused (the request untouched) and shown in the
approver's inbox, a request id is applied once, and nothing a signal carries fails the deal."""

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.errors import BadInput, NotFound
from cli.main import main
from domain.approvals import RequestStatus
from domain.commands import AdvanceStage, DecideDiscount, RequestDiscount
from domain.events import DiscountDecisionRefused, DomainEvent
from domain.opportunity import OpportunityState
from domain.stages import STAGE_ORDER, Stage
from reports.pending_approvals import refused_decisions
from reports.projector import Projector
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd
from workflows.opportunity import OpportunityWorkflow


async def negotiating(deals: DealClient, pipeline: str, owner: str = "alice") -> str:
    oid = f"sig-{uuid.uuid4().hex[:10]}"
    await deals.open(open_cmd(oid, pipeline=pipeline, owner=owner, amount=Decimal(600_000)))
    for stage in STAGE_ORDER[1 : STAGE_ORDER.index(Stage.NEGOTIATION) + 1]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    return oid


async def until(
    deals: DealClient, oid: str, holds: Callable[[OpportunityState], bool], what: str
) -> OpportunityState:
    """The deal's state once a signal sent to it has been handled (signals answer nobody)."""
    for _ in range(200):
        state = await deals.show(oid)
        if holds(state):
            return state
        await asyncio.sleep(0.025)
    raise AssertionError(f"{oid}: never {what}")


async def signalled(deals: DealClient, oid: str, cmd: DecideDiscount, request_id: str | None = None) -> str:
    """Send the decision as a signal and wait until the deal has recorded something for it."""
    before = (await deals.show(oid)).version
    rid = await deals.signal_discount_decision(oid, cmd, request_id=request_id)
    await until(deals, oid, lambda s: s.version > before, f"handled signal {rid}")
    return rid


def comparable(events: list[DomainEvent]) -> list[dict[str, Any]]:
    """Events without what differs between two deals: ids, times, versions, request ids."""
    drop = {"stream_id", "version", "event_id", "occurred_at", "request_id", "deadline"}
    return [e.model_dump(exclude=drop) for e in events]


async def test_a_signal_records_what_the_update_does(deals: DealClient, store: EventStore) -> None:
    """会签 in services: by update on one deal, by signal on the other; the same events, the same
    state. A second vote by the same manager is refused and recorded; the request stays pending."""
    by_update, by_signal = await negotiating(deals, "services"), await negotiating(deals, "services")
    for oid in (by_update, by_signal):
        await deals.request_discount(oid, RequestDiscount(discount=Decimal(8), actor="alice"))
    mei = DecideDiscount(approver="mei.chen", approve=True, comment="ok", actor="mei.chen")
    jun = DecideDiscount(approver="jun.wu", approve=True, actor="service:chat-bot")

    await deals.decide_discount(by_update, mei)
    await signalled(deals, by_signal, mei)
    pending = await deals.show(by_signal)
    again = await signalled(deals, by_signal, mei.model_copy(update={"comment": "twice"}))
    refused = await deals.show(by_signal)
    assert refused.discount_request == pending.discount_request  # the request is untouched
    assert refused.last_activity_at == pending.last_activity_at  # and the idle clock too
    [refusal] = refused.refused_decisions
    assert (refusal.rule, refusal.approver, refusal.decision_request_id) == (
        "no-double-vote",
        "mei.chen",
        again,
    )
    assert refusal.request_id == pending.discount_request.request_id  # type: ignore[union-attr]

    await deals.decide_discount(by_update, jun)
    await signalled(deals, by_signal, jun)
    update_state, signal_state = await deals.show(by_update), await deals.show(by_signal)
    assert signal_state.approved_discount == update_state.approved_discount == Decimal(8)
    assert signal_state.discount_request.decided_by == ["mei.chen", "jun.wu"]  # type: ignore[union-attr]
    from_update, from_signal = await store.read_stream(by_update), await store.read_stream(by_signal)
    assert [e for e in from_signal if isinstance(e, DiscountDecisionRefused)] == [from_signal[-3]]
    del from_signal[-3]  # the refused second vote; the rest is what the updates recorded
    assert comparable(from_signal[1:]) == comparable(from_update[1:])
    assert [e.actor for e in from_signal[-3:]] == ["mei.chen", "service:chat-bot", "service:chat-bot"]


async def test_refused_signals_are_recorded_and_shown_in_the_inbox(
    deals: DealClient, store: EventStore
) -> None:
    """Software, a deal mei.chen owns: no open request, her own deal, a legal person, a malformed
    approver; each a refusal event and nothing else. A request id sent twice is applied once."""
    oid = await negotiating(deals, "software", owner="mei.chen")
    await signalled(deals, oid, DecideDiscount(approver="hua.zhang", approve=True))  # nothing open yet
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(12)))
    requested = await deals.show(oid)
    await signalled(deals, oid, DecideDiscount(approver="mei.chen", approve=True, actor="mei.chen"))
    await signalled(deals, oid, DecideDiscount(approver="lin.ma", approve=False, actor="lin.ma"))
    await signalled(deals, oid, DecideDiscount(approver="bad name\x00", approve=True, actor="bot"))
    state = await deals.show(oid)
    assert state.discount_request == requested.discount_request
    assert [(r.rule, r.approver) for r in state.refused_decisions] == [
        ("request-open", "hua.zhang"),
        ("no-self-approval", "mei.chen"),
        ("approver-level", "lin.ma"),
        ("id-format", "'bad name\\x00'"),  # quoted, so the refusal stores
    ]
    assert state.refused_decisions[0].request_id is None  # nothing was open

    approve = DecideDiscount(approver="hua.zhang", approve=True, actor="hua.zhang")
    for _ in range(2):  # sent twice (a retry): applied once
        await deals.signal_discount_decision(oid, approve, request_id="mail-42")
    await until(deals, oid, lambda s: s.approved_discount == 12, "approved")
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(13)))  # handled after both
    stream = await store.read_stream(oid)
    assert [e.type for e in stream if e.version > requested.version] == [
        *["DiscountDecisionRefused"] * 3,
        "DiscountVoted",
        "DiscountApproved",
        "DiscountRequested",
    ]

    await Projector(store).catch_up()
    async with store.pool.connection() as conn:
        mine = await refused_decisions(conn, "mei.chen")
        everyone = await refused_decisions(conn)
    assert [(r.opportunity_id, r.rule, r.actor) for r in mine] == [(oid, "no-self-approval", "mei.chen")]
    assert [r.rule for r in everyone] == ["id-format", "approver-level", "no-self-approval", "request-open"]
    assert (everyone[-1].actor, everyone[0].actor) == (None, "bot")


async def test_an_undecodable_signal_is_dropped_and_the_deal_goes_on(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await negotiating(deals, "software")
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(12)))
    before = await store.read_stream(oid)
    handle = time_skipping_env.client.get_workflow_handle(oid)
    name = OpportunityWorkflow.decide_discount_signal.__name__
    for junk in ({"request_id": 5, "decision": {"approve": "maybe"}}, "not even an object", None):
        await handle.signal(name, junk)
    await handle.signal(name)  # no payload at all
    await handle.signal(name, args=[None, "one too many"])
    await signalled(deals, oid, DecideDiscount(approver="mei.chen", approve=True))  # handled after them
    after = await store.read_stream(oid)
    assert [e.type for e in after[len(before) :]] == ["DiscountVoted", "DiscountApproved"]
    state = await deals.show(oid)
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.APPROVED


async def test_no_wait_sends_the_decision_as_a_signal(
    deals: DealClient,
    time_skipping_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    oid = await negotiating(deals, "software")
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(12)))
    monkeypatch.setenv("TEMPORAL_ADDRESS", time_skipping_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", time_skipping_env.client.namespace)
    capsys.readouterr()
    argv = ["discount", "approve", oid, "--approver", "mei.chen", "--no-wait", "--request-id", "cli-1"]
    assert await main(argv) == 0
    assert f"sent the decision on {oid} as a signal (request id cli-1)" in capsys.readouterr().out
    await until(deals, oid, lambda s: s.approved_discount == 12, "approved by the signal")

    decision = DecideDiscount(approver="mei.chen", approve=True)
    with pytest.raises(NotFound):
        await deals.signal_discount_decision(f"no-such-{oid}", decision)
    with pytest.raises(BadInput):
        await deals.signal_discount_decision(oid, decision, request_id=" ")
