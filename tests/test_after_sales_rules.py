"""After-sales rules: the revisit schedule, missed revisits, feedback, renewals, closing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.after_sales import (
    AfterSalesPolicy,
    CloseRelationship,
    DealWon,
    OpenRenewal,
    RecordFeedback,
    RelationshipState,
    RevisitStatus,
    apply_after_sales,
    decide_close,
    decide_feedback,
    decide_renewal,
    decide_revisit,
    decide_start,
    next_revisit_due,
)
from domain.errors import RuleViolation
from domain.events import DomainEvent
from domain.pipeline import load_catalog
from tests.factories import T0, meta

POLICY = AfterSalesPolicy(revisit_after_days=(7, 30, 90), then_every_days=180)


def started() -> RelationshipState:
    event = decide_start(
        DealWon(
            deal_id="opp-9",
            pipeline="software",
            owner="an.li",
            customer="Acme",
            contact_person="Wang Li",
            amount=Decimal(100),
            won_at=T0,
        ),
        meta(),
    )
    return apply_after_sales(None, event)


def fold(state: RelationshipState, events: DomainEvent | list[DomainEvent]) -> RelationshipState:
    for event in events if isinstance(events, list) else [events]:
        state = apply_after_sales(state, event)
    return state


def revisits_through(state: RelationshipState, n: int) -> RelationshipState:
    """Let revisits 1..n come due, each at its own due time."""
    for number in range(len(state.revisits) + 1, n + 1):
        at = (POLICY.due_at(state.won_at, number) - T0) / timedelta(days=1)
        state = fold(state, decide_revisit(state, POLICY, meta(at)))
    return state


def test_revisits_fall_on_the_offsets_then_every_period() -> None:
    days = [(POLICY.due_at(T0, n) - T0).days for n in range(1, 8)]
    assert days == [7, 30, 90, 270, 450, 630, 810]


@pytest.mark.parametrize("offsets", [(), (0, 5), (30, 7), (7, 7)])
def test_offsets_must_be_positive_and_increasing(offsets: tuple[int, ...]) -> None:
    with pytest.raises(ValidationError):
        AfterSalesPolicy(revisit_after_days=offsets)


def test_shipped_pipelines_have_revisit_schedules() -> None:
    catalog = load_catalog()
    software = catalog.get("software").after_sales
    assert software is not None
    assert software.revisit_after_days == (7, 30, 90)
    assert software.then_every_days == 180


def test_nothing_is_due_before_the_first_offset() -> None:
    state = started()
    assert next_revisit_due(state, POLICY) == T0 + timedelta(days=7)
    assert decide_revisit(state, POLICY, meta(6.9)) == []


def test_a_due_revisit_is_recorded_and_the_next_one_scheduled() -> None:
    state = revisits_through(started(), 1)
    assert [(r.number, r.status) for r in state.revisits] == [(1, RevisitStatus.OPEN)]
    assert next_revisit_due(state, POLICY) == T0 + timedelta(days=30)


def test_an_unanswered_revisit_is_missed_when_the_next_comes_due() -> None:
    state = revisits_through(started(), 1)
    events = decide_revisit(state, POLICY, meta(30))
    assert [e.type for e in events] == ["RevisitMissed", "RevisitDue"]
    assert [e.version for e in events] == [state.version + 1, state.version + 2]
    assert events[0].event_id != events[1].event_id
    state = fold(state, events)
    assert [r.status for r in state.revisits] == [RevisitStatus.MISSED, RevisitStatus.OPEN]


def test_feedback_answers_the_latest_revisit_and_is_then_closed() -> None:
    state = revisits_through(started(), 1)
    state = fold(state, decide_feedback(state, RecordFeedback(score=4, comment="happy", by="an.li"), meta(8)))
    revisit = state.revisits[0]
    assert (revisit.status, revisit.score, revisit.comment) == (RevisitStatus.ANSWERED, 4, "happy")
    with pytest.raises(RuleViolation) as err:
        decide_feedback(state, RecordFeedback(score=5, by="an.li"), meta(9))
    assert err.value.rule == "revisit-open"
    state = revisits_through(state, 2)
    assert [r.status for r in state.revisits] == [RevisitStatus.ANSWERED, RevisitStatus.OPEN]


@pytest.mark.parametrize(
    ("cmd", "rule"),
    [
        (RecordFeedback(score=0, by="an.li"), "feedback-score"),
        (RecordFeedback(score=6, by="an.li"), "feedback-score"),
        (RecordFeedback(score=3, by=" "), "feedback-recorded"),
        (RecordFeedback(score=3, by="an.li", revisit=2), "revisit-due"),
    ],
)
def test_bad_feedback_is_refused(cmd: RecordFeedback, rule: str) -> None:
    state = revisits_through(started(), 1)
    with pytest.raises(RuleViolation) as err:
        decide_feedback(state, cmd, meta(8))
    assert err.value.rule == rule


def test_feedback_before_any_revisit_is_refused() -> None:
    with pytest.raises(RuleViolation) as err:
        decide_feedback(started(), RecordFeedback(score=3, by="an.li"), meta(1))
    assert err.value.rule == "revisit-due"


def test_missed_revisits_take_no_feedback() -> None:
    state = revisits_through(started(), 2)
    with pytest.raises(RuleViolation) as err:
        decide_feedback(state, RecordFeedback(score=3, by="an.li", revisit=1), meta(31))
    assert err.value.rule == "revisit-open"


def test_renewals_are_numbered_per_deal() -> None:
    state = revisits_through(started(), 1)
    first = decide_renewal(state, OpenRenewal(amount=Decimal(50), by="an.li"), meta(8))
    state = fold(state, first)
    second = decide_renewal(state, OpenRenewal(amount=Decimal(70), by="an.li"), meta(9))
    assert (first.renewal_id, second.renewal_id) == ("opp-9-renewal-1", "opp-9-renewal-2")
    with pytest.raises(RuleViolation) as err:
        decide_renewal(state, OpenRenewal(amount=Decimal(-1), by="an.li"), meta(9))
    assert err.value.rule == "amount-not-negative"


def test_a_closed_relationship_has_no_more_revisits_and_refuses_everything() -> None:
    state = revisits_through(started(), 1)
    state = fold(state, decide_close(state, CloseRelationship(reason="churned", by="mei.chen"), meta(10)))
    assert next_revisit_due(state, POLICY) is None
    assert decide_revisit(state, POLICY, meta(400)) == []
    for decide in (
        lambda: decide_feedback(state, RecordFeedback(score=3, by="an.li"), meta(11)),
        lambda: decide_renewal(state, OpenRenewal(amount=Decimal(1), by="an.li"), meta(11)),
        lambda: decide_close(state, CloseRelationship(reason="again", by="an.li"), meta(11)),
    ):
        with pytest.raises(RuleViolation) as err:
            decide()
        assert err.value.rule == "relationship-open"


def test_the_fold_refuses_foreign_or_out_of_order_events() -> None:
    state = revisits_through(started(), 1)
    due = decide_revisit(state, POLICY, meta(30))
    with pytest.raises(ValueError, match="expected version"):
        apply_after_sales(state, due[1])
    with pytest.raises(ValueError, match="does not start"):
        apply_after_sales(None, due[0])
