"""Discount approval and contract review rules, without Temporal or a database."""

from decimal import Decimal

import pytest

from domain.approvals import RequestStatus
from domain.commands import DecideContract, DecideDiscount, MarkLost, RequestDiscount, SubmitContract
from domain.contracts import ClauseCheck, ReviewStatus, check_clauses
from domain.errors import RuleViolation
from domain.events import DomainEvent
from domain.negotiation import (
    decide_contract_checked,
    decide_contract_submit,
    decide_discount_request,
    decide_discount_timeout,
    decide_discount_vote,
    decide_legal,
    decide_legal_timeout,
)
from domain.opportunity import OpportunityState, apply, decide_advance, decide_lose
from domain.pipeline import load_catalog
from domain.stages import LossReason, Stage
from tests.factories import advance_to, good_contract, meta
from tests.test_domain_rules import at_stage

CATALOG = load_catalog()
SOFTWARE = CATALOG.get("software")
assert SOFTWARE.contract is not None
CONTRACT_POLICY = SOFTWARE.contract


def fold(state: OpportunityState, events: list[DomainEvent]) -> OpportunityState:
    for event in events:
        state = apply(state, event)
    return state


def negotiating(
    pipeline_id: str = "software", amount: str = "100000", owner: str = "alice"
) -> OpportunityState:
    pipeline = CATALOG.get(pipeline_id)
    state = at_stage(Stage.NEGOTIATION, pipeline)
    return state.model_copy(update={"amount": Decimal(amount), "owner": owner})


def request(state: OpportunityState, pct: str, pipeline_id: str = "software") -> OpportunityState:
    return fold(
        state,
        decide_discount_request(
            state, CATALOG.get(pipeline_id), RequestDiscount(discount=Decimal(pct)), meta(40)
        ),
    )


def vote(
    state: OpportunityState, who: str, approve: bool = True, pipeline_id: str = "software"
) -> OpportunityState:
    cmd = DecideDiscount(approver=who, approve=approve, comment="ok" if approve else "too much")
    return fold(state, decide_discount_vote(state, CATALOG.get(pipeline_id), cmd, meta(41)))


def refused(rule: str) -> pytest.RaisesExc[RuleViolation]:
    return pytest.raises(RuleViolation, match=rf"^\[{rule}\]")


def test_the_owner_grants_a_small_discount_alone() -> None:
    state = request(negotiating(), "5")
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.APPROVED
    assert state.discount_request.decided_by == ["alice"]
    assert state.approved_discount == Decimal(5)


def test_a_manager_approves_within_their_limit() -> None:
    state = request(negotiating(), "12")
    assert state.discount_request is not None
    assert state.discount_request.level == 0
    with refused("approver-limit"):  # jun.wu may approve up to 10 %
        vote(state, "jun.wu")
    state = vote(state, "mei.chen")
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.APPROVED
    assert state.approved_discount == Decimal(12)


def test_above_the_managers_level_goes_to_the_director() -> None:
    state = request(negotiating(), "20")
    assert state.discount_request is not None
    assert state.discount_request.level == 1
    with refused("approver-level"):
        vote(state, "mei.chen")
    with refused("legal|approver-level"):
        vote(state, "lin.ma")
    assert vote(state, "hua.zhang").approved_discount == Decimal(20)


def test_beyond_the_top_is_refused() -> None:
    with refused("discount-above-policy"):
        request(negotiating(), "31")


@pytest.mark.parametrize("pct", ["0", "-2", "101"])
def test_discount_must_be_a_percentage(pct: str) -> None:
    with refused("discount-range"):
        request(negotiating(), pct)


def test_large_deals_route_past_the_manager() -> None:
    state = request(negotiating(amount="3000000"), "8")  # manager level stops at 2M
    assert state.discount_request is not None
    assert state.discount_request.level == 1


def test_services_owner_limit_also_depends_on_amount() -> None:
    small = request(negotiating("services", amount="400000"), "3", "services")
    big = request(negotiating("services", amount="900000"), "3", "services")
    assert small.discount_request is not None
    assert big.discount_request is not None
    assert (small.discount_request.status, big.discount_request.status) == (
        RequestStatus.APPROVED,
        RequestStatus.PENDING,
    )


def test_no_one_approves_their_own_deal() -> None:
    state = request(negotiating(owner="mei.chen"), "10")
    with refused("no-self-approval"):
        vote(state, "mei.chen")


def test_all_of_the_group_must_approve_and_nobody_twice() -> None:
    state = request(negotiating("services", amount="300000"), "8", "services")
    state = vote(state, "mei.chen", pipeline_id="services")
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.PENDING
    with refused("no-double-vote"):
        vote(state, "mei.chen", pipeline_id="services")
    state = vote(state, "jun.wu", pipeline_id="services")
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.APPROVED
    assert sorted(state.discount_request.decided_by) == ["jun.wu", "mei.chen"]


def test_one_rejection_rejects_a_joint_level() -> None:
    state = request(negotiating("services", amount="300000"), "8", "services")
    state = vote(state, "jun.wu", approve=False, pipeline_id="services")
    assert state.discount_request is not None
    assert state.discount_request.status is RequestStatus.REJECTED
    assert state.approved_discount == 0
    with refused("request-open"):
        vote(state, "mei.chen", pipeline_id="services")


def test_unanswered_requests_escalate_then_expire() -> None:
    state = request(negotiating(), "10")
    state = fold(state, decide_discount_timeout(state, SOFTWARE, meta(42)))
    assert state.discount_request is not None
    assert (state.discount_request.level, state.discount_request.status) == (1, RequestStatus.PENDING)
    with refused("approver-level"):
        vote(state, "mei.chen")  # the managers had their chance
    expired = fold(state, decide_discount_timeout(state, SOFTWARE, meta(44)))
    assert expired.discount_request is not None
    assert expired.discount_request.status is RequestStatus.EXPIRED
    assert decide_discount_timeout(expired, SOFTWARE, meta(45)) == []  # nothing left to escalate


def test_a_newer_request_supersedes_the_open_one() -> None:
    first = request(negotiating(), "12")
    assert first.discount_request is not None
    events = decide_discount_request(first, SOFTWARE, RequestDiscount(discount=Decimal(8)), meta(43))
    assert getattr(events[0], "supersedes", None) == first.discount_request.request_id
    second = fold(first, events)
    assert second.discount_request is not None
    assert second.discount_request.discount == Decimal(8)
    assert vote(second, "jun.wu").approved_discount == Decimal(8)


def test_discounts_only_in_proposal_or_negotiation_and_not_while_lost() -> None:
    with refused("stage-allows"):
        request(at_stage(Stage.CONTACT), "10")
    state = at_stage(Stage.PROPOSAL)
    lost = apply(state, decide_lose(state, MarkLost(reason=LossReason.PRICE), meta(20)))
    with refused("not-while-lost"):
        request(lost, "10")


def test_unknown_approver() -> None:
    with refused("known-approver"):
        vote(request(negotiating(), "10"), "nobody")


# --- contract review ----------------------------------------------------------------------------


def submitted(state: OpportunityState, **contract: object) -> OpportunityState:
    cmd = SubmitContract(contract=good_contract(state, **contract))
    return fold(state, decide_contract_submit(state, SOFTWARE, cmd, meta(50)))


@pytest.mark.parametrize(
    ("clause", "change"),
    [
        (ClauseCheck.PAYMENT_TERMS, {"payment_terms_days": 90}),
        (ClauseCheck.LIABILITY_CAP, {"liability_cap": None}),
        (ClauseCheck.DISCOUNT_MATCHES_APPROVAL, {"discount": Decimal(10)}),
        (ClauseCheck.TOTAL_MATCHES_QUOTE, {"total": Decimal(99_000)}),
    ],
)
def test_each_failing_clause_is_named(clause: ClauseCheck, change: dict[str, object]) -> None:
    state = submitted(negotiating(), **change)
    assert state.contract is not None
    failures = check_clauses(state.contract.contract, CONTRACT_POLICY, state.amount, state.approved_discount)
    assert [f.check for f in failures] == [clause]
    checked = fold(state, decide_contract_checked(state, failures, meta(51)))
    assert checked.contract is not None
    assert checked.contract.status is ReviewStatus.CHECKS_FAILED
    with refused("contract-signed-off"):
        decide_advance(checked, SOFTWARE, advance_to(Stage.DEAL), meta(52))
    with refused("legal-review-open"):
        decide_legal(checked, SOFTWARE, DecideContract(by="lin.ma"), meta(52))
    # fixed and resubmitted, it passes
    assert submitted(checked).contract is not None


def test_the_contract_carries_the_approved_discount() -> None:
    state = vote(request(negotiating(), "10"), "mei.chen")
    contract = good_contract(state)
    assert (contract.discount, contract.total) == (Decimal(10), Decimal("90000.00"))
    assert check_clauses(contract, CONTRACT_POLICY, state.amount, state.approved_discount) == []


def test_legal_sign_off_then_the_deal_closes() -> None:
    state = submitted(negotiating())
    with refused("one-review-at-a-time"):
        submitted(state)
    state = fold(state, decide_contract_checked(state, [], meta(51)))
    with refused("legal-role"):
        decide_legal(state, SOFTWARE, DecideContract(by="mei.chen"), meta(52))
    with refused("contract-signed-off"):
        decide_advance(state, SOFTWARE, advance_to(Stage.DEAL), meta(52))
    state = fold(state, decide_legal(state, SOFTWARE, DecideContract(by="lin.ma", comment="fine"), meta(52)))
    assert state.contract is not None
    assert state.contract.status is ReviewStatus.SIGNED_OFF
    assert decide_advance(state, SOFTWARE, advance_to(Stage.DEAL), meta(53)).to_stage is Stage.DEAL
    with refused("contract-signed"):
        submitted(state)


def test_legal_rejection_sends_the_contract_back() -> None:
    state = submitted(negotiating())
    state = fold(state, decide_contract_checked(state, [], meta(51)))
    state = fold(state, decide_legal(state, SOFTWARE, DecideContract(by="lin.ma", approve=False), meta(52)))
    assert state.contract is not None
    assert state.contract.status is ReviewStatus.REJECTED
    assert submitted(state).contract is not None  # may be redrafted


def test_legal_silence_escalates_to_the_lead_then_expires() -> None:
    state = submitted(negotiating())
    state = fold(state, decide_contract_checked(state, [], meta(51)))
    state = fold(state, decide_legal_timeout(state, meta(54)))
    assert state.contract is not None
    assert (state.contract.escalated, state.contract.status) == (True, ReviewStatus.AWAITING_LEGAL)
    lead_signs = fold(state, decide_legal(state, SOFTWARE, DecideContract(by="qiang.he"), meta(55)))
    assert lead_signs.contract is not None
    assert lead_signs.contract.decided_by == "qiang.he"
    expired = fold(state, decide_legal_timeout(state, meta(56)))
    assert expired.contract is not None
    assert expired.contract.status is ReviewStatus.EXPIRED


def test_contract_only_in_negotiation() -> None:
    state = at_stage(Stage.PROPOSAL)
    with refused("stage-allows"):
        decide_contract_submit(state, SOFTWARE, SubmitContract(contract=good_contract(state)), meta(9))
