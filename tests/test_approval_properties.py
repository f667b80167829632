"""Property-based checks of the approval policy over random requests, approvers and timeouts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.approvals import (
    OWNER_LEVEL,
    ApprovalLevel,
    ApprovalMode,
    ApprovalPolicy,
    Approver,
    DiscountRequest,
    RequestStatus,
    check_vote,
)
from domain.commands import DecideDiscount, RequestDiscount
from domain.errors import RuleViolation
from domain.events import (
    DiscountApproved,
    DiscountEscalated,
    DiscountRequested,
    DiscountVoted,
    DomainEvent,
)
from domain.negotiation import (
    decide_discount_request,
    decide_discount_timeout,
    decide_discount_vote,
    discount_deadline,
)
from domain.opportunity import OpportunityState, apply
from domain.pipeline import load_catalog
from domain.stages import Stage
from tests.factories import T0, meta
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


# --- who may decide: the policy's answer (`may_decide`) against the rule that refuses votes ---------

ROLES = ("manager", "director", "vp", "legal")
NAMES = tuple(f"p{i}" for i in range(8))
limits = st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=0)


@st.composite
def policies(draw: st.DrawFn) -> ApprovalPolicy:
    """Random levels (ascending limits, any roles) and a random directory of people."""
    caps = sorted(draw(st.lists(limits, min_size=1, max_size=3)))
    levels = tuple(
        ApprovalLevel(
            name=f"level-{i}",
            role=draw(st.sampled_from(ROLES)),
            max_discount=cap,
            mode=draw(st.sampled_from(ApprovalMode)),
        )
        for i, cap in enumerate(caps)
    )
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    people = tuple(Approver(name=n, role=draw(st.sampled_from(ROLES)), limit=draw(limits)) for n in names)
    return ApprovalPolicy(
        owner_limit=draw(limits), timeout_hours=draw(st.integers(1, 200)), levels=levels, approvers=people
    )


def may_vote(policy: ApprovalPolicy, request: DiscountRequest, owner: str, name: str) -> bool:
    try:
        check_vote(policy, request, owner, name)
    except RuleViolation:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    policy=policies(),
    owner=st.sampled_from([*NAMES, "outsider"]),
    discount=st.decimals(min_value=Decimal("0.1"), max_value=Decimal(100), places=1),
    data=st.data(),
)
def test_may_decide_names_exactly_who_may_vote_on_a_fresh_request(
    policy: ApprovalPolicy, owner: str, discount: Decimal, data: st.DataObject
) -> None:
    level = data.draw(st.integers(min_value=0, max_value=len(policy.levels) - 1), label="level")
    request = DiscountRequest(
        request_id="r-1",
        discount=discount,
        amount=Decimal(100_000),
        requested_at=T0,
        level=level,
        level_since=T0,
    )
    allowed = policy.may_decide(level, discount, owner)
    assert len(allowed) == len(set(allowed))
    for person in policy.approvers:
        assert may_vote(policy, request, owner, person.name) is (person.name in allowed), person


@settings(max_examples=200, deadline=None)
@given(
    policy=policies(),
    owner=st.sampled_from([*NAMES, "outsider"]),
    discount=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(100), places=1),
    amount=amounts,
)
def test_each_level_a_request_reaches_records_who_may_decide_it_and_by_when(
    policy: ApprovalPolicy, owner: str, discount: Decimal, amount: Decimal
) -> None:
    """DiscountRequested and every DiscountEscalated carry the level's deciders and deadline: the
    people `check_vote` lets decide the request on the state the event leaves, and the moment the
    domain's deadline (`discount_deadline`) says the level times out."""
    pipeline = CATALOG.get("software").model_copy(update={"approvals": policy})
    state = BASE["software"].model_copy(update={"owner": owner, "amount": amount})
    try:
        produced = decide_discount_request(state, pipeline, RequestDiscount(discount=discount), meta(40))
    except RuleViolation:
        return  # beyond the policy: nothing to route
    day = 40
    while produced:
        for event in produced:
            state = apply(state, event)
        routed = produced[0]
        request = state.discount_request
        assert request is not None
        if isinstance(routed, DiscountRequested | DiscountEscalated) and request.level is not None:
            deciders = {p.name for p in policy.approvers if may_vote(policy, request, owner, p.name)}
            assert set(routed.approvers) == deciders
            assert routed.deadline == discount_deadline(state, pipeline)
            assert routed.deadline == routed.occurred_at + timedelta(hours=policy.timeout_hours)
        else:  # the owner's own grant, or the request expired: nobody is asked
            assert request.status is not RequestStatus.PENDING
            assert discount_deadline(state, pipeline) is None
        day += 3
        produced = decide_discount_timeout(state, pipeline, meta(day))
