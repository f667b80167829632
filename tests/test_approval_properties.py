"""Property-based checks of the approval policy over random requests, approvers and timeouts."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.approvals import OWNER_LEVEL, RequestStatus
from domain.commands import DecideDiscount, RequestDiscount
from domain.errors import RuleViolation
from domain.events import DiscountApproved, DiscountVoted, DomainEvent
from domain.negotiation import decide_discount_request, decide_discount_timeout, decide_discount_vote
from domain.opportunity import OpportunityState, apply
from domain.pipeline import load_catalog
from domain.stages import Stage
from tests.factories import meta
from tests.test_domain_rules import at_stage

CATALOG = load_catalog()
PEOPLE = sorted({a.name for p in CATALOG.pipelines.values() if p.approvals for a in p.approvals.approvers})
BASE = {pid: at_stage(Stage.NEGOTIATION, p) for pid, p in CATALOG.pipelines.items()}

discounts = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(40), places=1)
amounts = st.integers(min_value=1_000, max_value=5_000_000).map(Decimal)
actions = st.lists(
    st.one_of(st.tuples(st.sampled_from(PEOPLE), st.booleans()), st.just(("timeout", False))), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(
    pipeline_id=st.sampled_from(sorted(CATALOG.pipelines)),
    owner=st.sampled_from([*PEOPLE, "alice"]),
    discount=discounts,
    amount=amounts,
    steps=actions,
)
def test_no_discount_is_granted_beyond_the_authority_of_who_granted_it(
    pipeline_id: str, owner: str, discount: Decimal, amount: Decimal, steps: list[tuple[str, bool]]
) -> None:
    pipeline = CATALOG.get(pipeline_id)
    policy = pipeline.approvals
    assert policy is not None
    state: OpportunityState = BASE[pipeline_id].model_copy(update={"owner": owner, "amount": amount})
    events: list[DomainEvent] = []

    def run(produced: list[DomainEvent]) -> None:
        nonlocal state
        for event in produced:
            state = apply(state, event)
            events.append(event)

    grantable = policy.owner_may_grant(discount, amount) or policy.first_level(discount, amount) is not None
    if not grantable:  # refused only when no level (nor the owner) could ever grant it
        with pytest.raises(RuleViolation, match="discount-above-policy"):
            decide_discount_request(state, pipeline, RequestDiscount(discount=discount), meta(40))
        return
    run(decide_discount_request(state, pipeline, RequestDiscount(discount=discount), meta(40)))
    request = state.discount_request
    assert request is not None
    # it starts with the owner, or at the lowest level that covers it
    if request.level is None:
        assert policy.owner_may_grant(discount, amount)
    else:
        assert request.level == policy.first_level(discount, amount)

    for day, (who, approve) in enumerate(steps, start=41):
        before = len(events)
        if who == "timeout":
            run(decide_discount_timeout(state, pipeline, meta(day)))
            continue
        try:
            run(
                decide_discount_vote(
                    state, pipeline, DecideDiscount(approver=who, approve=approve), meta(day)
                )
            )
        except RuleViolation:
            assert len(events) == before  # a refused vote produces nothing
            continue
        vote = events[before]
        assert isinstance(vote, DiscountVoted)
        assert vote.approver != owner
        assert policy.approver(who).limit >= discount

    request = state.discount_request
    assert request is not None
    approvals = [e for e in events if isinstance(e, DiscountApproved)]
    assert len(approvals) <= 1
    voters = [e.approver for e in events if isinstance(e, DiscountVoted)]
    assert len(voters) == len(set(voters))  # nobody twice
    if request.status is RequestStatus.APPROVED:
        (approved,) = approvals
        assert state.approved_discount == discount
        if approved.level_name == OWNER_LEVEL:
            assert approved.approvers == (owner,)
        else:
            assert approved.approvers
            for name in approved.approvers:
                assert name != owner
                assert policy.approver(name).limit >= discount
    else:
        assert state.approved_discount == 0
        assert approvals == []
    # once decided or expired, nothing more happens
    if request.status is not RequestStatus.PENDING:
        assert decide_discount_timeout(state, pipeline, meta(60)) == []
