"""Follow-up rules without Temporal: when an idle deal is due a reminder, and to whom."""

from datetime import timedelta

import pytest

from domain.commands import LogTouch, MarkLost
from domain.errors import RuleViolation
from domain.events import EventMeta
from domain.follow_up import decide_stall, decide_touch, stall_deadline
from domain.opportunity import OpportunityState, apply, decide_lose
from domain.pipeline import load_catalog
from domain.stages import LossReason, Stage
from tests.factories import meta
from tests.test_domain_rules import at_stage

CATALOG = load_catalog()
SOFTWARE = CATALOG.get("software")
assert SOFTWARE.follow_up is not None
POLICY = SOFTWARE.follow_up


def at(state: OpportunityState, days: float) -> EventMeta:
    return EventMeta(event_id=f"e{days}", occurred_at=state.last_activity_at + timedelta(days=days))


def test_deadlines_follow_the_stage_sla_then_the_escalation_factor() -> None:
    state = at_stage(Stage.PROPOSAL)  # SLA 14 days, escalate at 28
    assert stall_deadline(state, SOFTWARE, POLICY) == state.last_activity_at + timedelta(days=14)
    assert decide_stall(state, SOFTWARE, POLICY, at(state, 13.9)) == []  # not yet due
    reminded = apply(state, decide_stall(state, SOFTWARE, POLICY, at(state, 14))[0])
    assert reminded.stall_level == 1
    assert reminded.last_activity_at == state.last_activity_at  # a reminder is not activity
    assert stall_deadline(reminded, SOFTWARE, POLICY) == state.last_activity_at + timedelta(days=28)
    (escalation,) = decide_stall(reminded, SOFTWARE, POLICY, at(state, 28))
    assert (escalation.type, getattr(escalation, "recipient", None)) == ("StallEscalated", "hua.zhang")
    assert stall_deadline(apply(reminded, escalation), SOFTWARE, POLICY) is None


def test_escalation_goes_to_the_reps_manager() -> None:
    state = at_stage(Stage.PROPOSAL).model_copy(update={"owner": "xiao.a", "stall_level": 1})
    (escalation,) = decide_stall(state, SOFTWARE, POLICY, at(state, 28))
    assert getattr(escalation, "recipient", None) == "jun.wu"


def test_touch_resets_and_needs_a_kind_and_a_person() -> None:
    state = at_stage(Stage.PROPOSAL).model_copy(update={"stall_level": 1})
    touched = apply(state, decide_touch(state, LogTouch(kind="visit", by="alice"), at(state, 20))[0])
    assert (touched.stall_level, touched.last_activity_at) == (0, at(state, 20).occurred_at)
    with pytest.raises(RuleViolation, match="touch-recorded"):
        decide_touch(state, LogTouch(kind=" ", by="alice"), meta(1))


@pytest.mark.parametrize("stage", [Stage.DEAL, Stage.AFTER_SALES])
def test_won_deals_are_not_nagged(stage: Stage) -> None:
    assert stall_deadline(at_stage(stage), SOFTWARE, POLICY) is None


def test_lost_deals_are_not_nagged() -> None:
    state = at_stage(Stage.CONTACT)
    lost = apply(state, decide_lose(state, MarkLost(reason=LossReason.OTHER), meta(5)))
    assert stall_deadline(lost, SOFTWARE, POLICY) is None
