"""Discount approvals and contract review through the workflow, on the time-skipping server."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient, DealRefused
from domain.approvals import RequestStatus
from domain.commands import AdvanceStage, DecideContract, DecideDiscount, RequestDiscount, SubmitContract
from domain.contracts import ClauseCheck, ReviewStatus
from domain.events import DiscountEscalated, DiscountExpired, DiscountRequested, DomainEvent
from domain.opportunity import OpportunityState, replay
from domain.stages import STAGE_ORDER, Stage
from store.event_store import EventStore
from tests.factories import ALL_FACTS, good_contract, open_cmd


async def negotiating(deals: DealClient, pipeline: str = "software", owner: str = "alice") -> str:
    oid = f"opp-{uuid.uuid4().hex[:10]}"
    await deals.open(open_cmd(oid, pipeline=pipeline, owner=owner, amount=Decimal(200_000)))
    for stage in STAGE_ORDER[1 : STAGE_ORDER.index(Stage.NEGOTIATION) + 1]:
        await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    return oid


async def refused_without_trace(
    deals: DealClient, store: EventStore, oid: str, call: object, rule: str
) -> None:
    before_state, before_events = await deals.show(oid), await store.read_stream(oid)
    with pytest.raises(DealRefused) as err:
        await call  # type: ignore[misc]
    assert err.value.rule == rule, err.value.message
    assert await deals.show(oid) == before_state
    assert await store.read_stream(oid) == before_events


def types(events: list[DomainEvent]) -> list[str]:
    return [e.type for e in events]


async def test_a_manager_approves_within_limit_and_the_contract_carries_it(
    deals: DealClient, store: EventStore
) -> None:
    oid = await negotiating(deals)
    state = await deals.request_discount(
        oid, RequestDiscount(discount=Decimal(12), comment="competitor quote")
    )
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.PENDING
    await refused_without_trace(
        deals,
        store,
        oid,
        deals.decide_discount(oid, DecideDiscount(approver="jun.wu", approve=True)),
        "approver-limit",
    )
    state = await deals.decide_discount(oid, DecideDiscount(approver="mei.chen", approve=True, comment="ok"))
    assert state.approved_discount == Decimal(12)
    state = await deals.submit_contract(oid, SubmitContract(contract=good_contract(state)))
    assert state.contract is not None
    assert state.contract.status is ReviewStatus.AWAITING_LEGAL
    assert state.contract.contract.total == Decimal("176000.00")
    await deals.decide_contract(oid, DecideContract(by="lin.ma"))
    final = await deals.advance(oid, AdvanceStage(to_stage=Stage.DEAL, facts=ALL_FACTS))
    assert final.stage is Stage.DEAL
    stored = await store.read_stream(oid)
    assert types(stored)[-7:] == [
        "DiscountRequested",
        "DiscountVoted",
        "DiscountApproved",
        "ContractSubmitted",
        "ContractChecked",
        "LegalDecided",
        "StageAdvanced",
    ]
    assert replay(stored) == final


async def test_refusals_append_nothing(deals: DealClient, store: EventStore) -> None:
    oid = await negotiating(deals, owner="mei.chen")
    await refused_without_trace(
        deals,
        store,
        oid,
        deals.request_discount(oid, RequestDiscount(discount=Decimal(45))),
        "discount-above-policy",
    )
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(10)))
    await refused_without_trace(
        deals,
        store,
        oid,
        deals.decide_discount(oid, DecideDiscount(approver="mei.chen", approve=True)),
        "no-self-approval",
    )
    await refused_without_trace(
        deals,
        store,
        oid,
        deals.decide_discount(oid, DecideDiscount(approver="lin.ma", approve=True)),
        "approver-level",
    )
    await refused_without_trace(
        deals,
        store,
        oid,
        deals.advance(oid, AdvanceStage(to_stage=Stage.DEAL, facts=ALL_FACTS)),
        "contract-signed-off",
    )
    await refused_without_trace(
        deals, store, oid, deals.decide_contract(oid, DecideContract(by="lin.ma")), "legal-review-open"
    )


async def test_escalation_after_timeout_reaches_the_director_then_expires(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await negotiating(deals)
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(10)))
    await time_skipping_env.sleep(timedelta(hours=47))
    state = await deals.show(oid)
    assert state.discount_request is not None
    assert state.discount_request.level == 0  # not yet: the manager level has 48 h
    await time_skipping_env.sleep(timedelta(hours=2))
    state = await deals.show(oid)
    assert state.discount_request is not None
    assert (state.discount_request.level, state.discount_request.status) == (1, RequestStatus.PENDING)
    with pytest.raises(DealRefused, match="approver-level"):
        await deals.decide_discount(oid, DecideDiscount(approver="mei.chen", approve=True))
    await time_skipping_env.sleep(timedelta(hours=49))
    state = await deals.show(oid)
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.EXPIRED
    assert state.approved_discount == 0
    stored = await store.read_stream(oid)
    escalated = [e for e in stored if e.type == "DiscountEscalated"]
    expired = [e for e in stored if e.type == "DiscountExpired"]
    assert len(escalated) == len(expired) == 1
    requested = next(e for e in stored if e.type == "DiscountRequested")
    # each level had its 48 hours (give or take the milliseconds the timer's activation takes)
    assert abs(escalated[0].occurred_at - requested.occurred_at - timedelta(hours=48)) < timedelta(seconds=1)
    assert abs(expired[0].occurred_at - escalated[0].occurred_at - timedelta(hours=48)) < timedelta(seconds=1)
    assert replay(stored) == state


async def test_the_recorded_deadline_is_when_the_workflow_escalates(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    """The deadline on DiscountRequested (and on DiscountEscalated, for the next level) is the moment
    the workflow's own timer acts: a second before it nothing has happened, a second after it has.
    The event is stamped when the timer's activation runs, which is never before the deadline and
    only the activation's milliseconds after it."""
    oid = await negotiating(deals)
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(10)))
    (requested,) = [e for e in await store.read_stream(oid) if isinstance(e, DiscountRequested)]
    assert requested.approvers == ("mei.chen", "jun.wu", "hua.zhang")  # the managers, or the director
    assert requested.deadline is not None

    async def just_before_and_after(deadline: datetime) -> tuple[OpportunityState, OpportunityState]:
        now = await time_skipping_env.get_current_time()
        await time_skipping_env.sleep(deadline - timedelta(seconds=1) - now)
        before = await deals.show(oid)
        await time_skipping_env.sleep(timedelta(seconds=2))
        return before, await deals.show(oid)

    before, after = await just_before_and_after(requested.deadline)
    assert before.discount_request is not None
    assert after.discount_request is not None
    assert (before.discount_request.level, after.discount_request.level) == (0, 1)
    (escalated,) = [e for e in await store.read_stream(oid) if isinstance(e, DiscountEscalated)]
    assert requested.deadline <= escalated.occurred_at < requested.deadline + timedelta(seconds=1)
    assert escalated.approvers == ("hua.zhang",)
    assert escalated.deadline == escalated.occurred_at + timedelta(hours=48)
    assert escalated.deadline is not None

    before, after = await just_before_and_after(escalated.deadline)
    assert before.discount_request is not None
    assert after.discount_request is not None
    assert (before.discount_request.status, after.discount_request.status) == (
        RequestStatus.PENDING,
        RequestStatus.EXPIRED,
    )
    (expired,) = [e for e in await store.read_stream(oid) if isinstance(e, DiscountExpired)]
    assert escalated.deadline <= expired.occurred_at < escalated.deadline + timedelta(seconds=1)


async def test_the_director_decides_after_escalation(
    deals: DealClient, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await negotiating(deals)
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(10)))
    await time_skipping_env.sleep(timedelta(hours=50))
    state = await deals.decide_discount(
        oid, DecideDiscount(approver="hua.zhang", approve=False, comment="no")
    )
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.REJECTED
    await time_skipping_env.sleep(timedelta(days=10))  # no timer left to fire
    after = await deals.show(oid)
    assert after.version == state.version


async def test_a_newer_request_supersedes_the_open_one(deals: DealClient, store: EventStore) -> None:
    oid = await negotiating(deals)
    first = await deals.request_discount(oid, RequestDiscount(discount=Decimal(14)))
    second = await deals.request_discount(oid, RequestDiscount(discount=Decimal(8)))
    assert first.discount_request is not None
    assert second.discount_request is not None
    requests = [e for e in await store.read_stream(oid) if e.type == "DiscountRequested"]
    assert getattr(requests[1], "supersedes", None) == first.discount_request.request_id
    state = await deals.decide_discount(oid, DecideDiscount(approver="jun.wu", approve=True))
    assert state.approved_discount == Decimal(8)


async def test_joint_approval_needs_every_manager(deals: DealClient) -> None:
    oid = await negotiating(deals, pipeline="services")
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(8)))
    state = await deals.decide_discount(oid, DecideDiscount(approver="jun.wu", approve=True))
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.PENDING
    state = await deals.decide_discount(oid, DecideDiscount(approver="mei.chen", approve=True))
    assert state.approved_discount == Decimal(8)


@pytest.mark.parametrize(
    ("clause", "change"),
    [
        (ClauseCheck.PAYMENT_TERMS, {"payment_terms_days": 120}),
        (ClauseCheck.LIABILITY_CAP, {"liability_cap": None}),
        (ClauseCheck.DISCOUNT_MATCHES_APPROVAL, {"discount": Decimal(5)}),
        (ClauseCheck.TOTAL_MATCHES_QUOTE, {"total": Decimal(150_000)}),
    ],
)
async def test_each_failing_clause_blocks_the_deal(
    deals: DealClient, store: EventStore, clause: ClauseCheck, change: dict[str, object]
) -> None:
    oid = await negotiating(deals)
    state: OpportunityState = await deals.show(oid)
    state = await deals.submit_contract(oid, SubmitContract(contract=good_contract(state, **change)))
    assert state.contract is not None
    assert state.contract.status is ReviewStatus.CHECKS_FAILED
    assert [f.check for f in state.contract.failures] == [clause]
    checked = next(e for e in await store.read_stream(oid) if e.type == "ContractChecked")
    assert [f.check for f in getattr(checked, "failures", ())] == [clause]
    await refused_without_trace(
        deals,
        store,
        oid,
        deals.advance(oid, AdvanceStage(to_stage=Stage.DEAL, facts=ALL_FACTS)),
        "contract-signed-off",
    )
    # redrafted, it passes and can be signed
    state = await deals.submit_contract(oid, SubmitContract(contract=good_contract(state)))
    assert state.contract is not None
    assert state.contract.status is ReviewStatus.AWAITING_LEGAL


async def test_sign_off_timeout_escalates_to_the_legal_lead_then_expires(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = await negotiating(deals)
    state = await deals.show(oid)
    await deals.submit_contract(oid, SubmitContract(contract=good_contract(state)))
    await time_skipping_env.sleep(timedelta(hours=73))
    state = await deals.show(oid)
    assert state.contract is not None
    assert (state.contract.escalated, state.contract.status) == (True, ReviewStatus.AWAITING_LEGAL)
    await time_skipping_env.sleep(timedelta(hours=49))
    state = await deals.show(oid)
    assert state.contract is not None
    assert state.contract.status is ReviewStatus.EXPIRED
    assert [e.type for e in await store.read_stream(oid)][-2:] == [
        "LegalReviewEscalated",
        "LegalReviewExpired",
    ]
    await refused_without_trace(
        deals, store, oid, deals.decide_contract(oid, DecideContract(by="qiang.he")), "legal-review-open"
    )
