"""What a workflow waits for (domain/deadlines.py), without Temporal: the earliest deadline of a
stream, and what passing it decides."""

from datetime import datetime, timedelta
from decimal import Decimal

from domain.after_sales import CloseRelationship, DealWon, apply_after_sales, decide_close, decide_start
from domain.commands import DecideDiscount, RequestDiscount, SubmitContract
from domain.deadlines import opportunity_deadline, relationship_deadline
from domain.event_envelope import EventMeta
from domain.events import DomainEvent
from domain.negotiation import (
    decide_contract_checked,
    decide_contract_submit,
    decide_discount_request,
    decide_discount_vote,
)
from domain.opportunity import OpportunityState, apply
from domain.pipeline import load_catalog
from domain.stages import Stage
from tests.factories import T0, good_contract, meta
from tests.test_domain_rules import at_stage

SOFTWARE = load_catalog().get("software")
assert SOFTWARE.approvals is not None
assert SOFTWARE.contract is not None
assert SOFTWARE.after_sales is not None
APPROVALS, CONTRACT, AFTER_SALES = SOFTWARE.approvals, SOFTWARE.contract, SOFTWARE.after_sales


def fold(state: OpportunityState, events: list[DomainEvent]) -> OpportunityState:
    for event in events:
        state = apply(state, event)
    return state


def when(moment: datetime) -> EventMeta:
    return EventMeta(event_id="deadline", occurred_at=moment)


def test_an_idle_deal_waits_for_its_stage_sla() -> None:
    state = at_stage(Stage.NEGOTIATION)
    sla = SOFTWARE.stage(Stage.NEGOTIATION).sla_days
    assert sla is not None
    deadline = opportunity_deadline(state, SOFTWARE)
    assert deadline is not None
    assert deadline.at == state.last_activity_at + timedelta(days=sla)
    assert [e.type for e in deadline.decide(state, when(deadline.at))] == ["StallReminded"]


def test_the_earliest_deadline_wins_and_says_what_it_means() -> None:
    state = at_stage(Stage.NEGOTIATION)
    state = fold(
        state, decide_discount_request(state, SOFTWARE, RequestDiscount(discount=Decimal(12)), meta(40))
    )
    deadline = opportunity_deadline(state, SOFTWARE)
    assert deadline is not None
    assert deadline.at == meta(40).occurred_at + timedelta(hours=APPROVALS.timeout_hours)
    assert [e.type for e in deadline.decide(state, when(deadline.at))] == ["DiscountEscalated"]

    state = fold(
        state,
        decide_discount_vote(state, SOFTWARE, DecideDiscount(approver="mei.chen", approve=True), meta(40.5)),
    )
    state = fold(
        state,
        decide_contract_submit(state, SOFTWARE, SubmitContract(contract=good_contract(state)), meta(41)),
    )
    state = fold(state, decide_contract_checked(state, [], meta(41)))
    deadline = opportunity_deadline(state, SOFTWARE)
    assert deadline is not None
    assert deadline.at == meta(41).occurred_at + timedelta(hours=CONTRACT.legal_timeout_hours)
    assert [e.type for e in deadline.decide(state, when(deadline.at))] == ["LegalReviewEscalated"]


def test_a_deadline_decides_on_the_state_it_is_given_when_it_passes() -> None:
    """An update can land in the same moment the timer fires: the deadline must then decide on
    the state that update left, which here has nothing left to escalate."""
    state = at_stage(Stage.NEGOTIATION)
    state = fold(
        state, decide_discount_request(state, SOFTWARE, RequestDiscount(discount=Decimal(12)), meta(40))
    )
    deadline = opportunity_deadline(state, SOFTWARE)
    assert deadline is not None
    approved = fold(
        state,
        decide_discount_vote(state, SOFTWARE, DecideDiscount(approver="mei.chen", approve=True), meta(42)),
    )
    assert deadline.decide(approved, when(deadline.at)) == []


def test_a_relationship_waits_for_its_next_revisit_until_it_is_closed() -> None:
    won = DealWon(
        deal_id="opp-d",
        pipeline="software",
        owner="alice",
        customer="Acme",
        contact_person="Wang Li",
        amount=Decimal(1),
        won_at=T0,
    )
    state = apply_after_sales(None, decide_start(won, meta()))
    deadline = relationship_deadline(state, AFTER_SALES)
    assert deadline is not None
    assert deadline.at == T0 + timedelta(days=AFTER_SALES.revisit_after_days[0])
    assert [e.type for e in deadline.decide(state, when(deadline.at))] == ["RevisitDue"]
    closed = apply_after_sales(
        state, decide_close(state, CloseRelationship(reason="acquired", by="mei"), meta(1))
    )
    assert relationship_deadline(closed, AFTER_SALES) is None
