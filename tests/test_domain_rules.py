"""Every transition rule of one opportunity, without Temporal or a database."""

from decimal import Decimal

import pytest

from domain.commands import AdvanceStage, MarkLost, Reopen
from domain.errors import RuleViolation
from domain.events import DomainEvent, OpportunityLost, OpportunityReopened, StageAdvanced
from domain.opportunity import (
    OpportunityState,
    apply,
    decide_advance,
    decide_lose,
    decide_open,
    decide_reopen,
    replay,
)
from domain.pipeline import Pipeline, load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from tests.factories import T0, advance_to, meta, open_cmd, sign_contract

CATALOG = load_catalog()
SOFTWARE = CATALOG.get("software")


def opened(pipeline: Pipeline = SOFTWARE) -> OpportunityState:
    return apply(None, decide_open(open_cmd(pipeline=pipeline.id), pipeline, meta()))


def at_stage(stage: Stage, pipeline: Pipeline = SOFTWARE) -> OpportunityState:
    """Advance a new opportunity to `stage`, recording exactly the facts each exit needs."""
    state = opened(pipeline)
    day = 0
    while state.stage != stage:
        day += 1
        nxt = state.stage.next
        assert nxt is not None
        facts = {c: "x" for c in pipeline.stage(state.stage).exit_criteria}
        if nxt is Stage.DEAL:
            state, _ = sign_contract(state, pipeline, meta(day))
        state = apply(
            state, decide_advance(state, pipeline, AdvanceStage(to_stage=nxt, facts=facts), meta(day))
        )
    return state


def refused(rule: str) -> pytest.RaisesExc[RuleViolation]:
    return pytest.raises(RuleViolation, match=rf"^\[{rule}\]")


def test_open_enters_identify_with_lead_facts() -> None:
    state = opened()
    assert state.stage is Stage.IDENTIFY
    assert state.version == 1
    assert state.facts == {"company": "Acme", "contact_person": "Wang Li", "source": "trade show"}
    assert [(v.stage, v.entered_at, v.exited_at) for v in state.timeline] == [(Stage.IDENTIFY, T0, None)]


@pytest.mark.parametrize("field", ["opportunity_id", "owner", "company", "contact_person", "source"])
def test_open_requires_every_lead_field(field: str) -> None:
    with refused("lead-recorded"):
        decide_open(open_cmd(**{field: "  "}), SOFTWARE, meta())


def test_open_refuses_negative_amount() -> None:
    with refused("amount-not-negative"):
        decide_open(open_cmd(amount=Decimal("-1")), SOFTWARE, meta())


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_commands_refuse_non_finite_amounts(amount: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        open_cmd(amount=amount)


def test_open_refuses_pipeline_mismatch() -> None:
    with refused("unknown-pipeline"):
        decide_open(open_cmd(pipeline="services"), SOFTWARE, meta())


def test_happy_path_through_all_seven_stages_records_a_closed_timeline() -> None:
    state = at_stage(Stage.AFTER_SALES)
    assert [v.stage for v in state.timeline] == list(STAGE_ORDER)
    assert state.version == 10  # 7 moves and the contract's submission, checks and sign-off
    for day, visit in enumerate(state.timeline):
        assert visit.entered_at == meta(day).occurred_at
    assert all(v.exited_at == n.entered_at for v, n in zip(state.timeline, state.timeline[1:], strict=False))
    assert state.timeline[-1].exited_at is None


@pytest.mark.parametrize("stage", STAGE_ORDER[:-1])
@pytest.mark.parametrize("target", STAGE_ORDER)
def test_only_the_next_stage_is_allowed(stage: Stage, target: Stage) -> None:
    state = at_stage(stage)
    if stage is Stage.NEGOTIATION:  # closing needs a signed-off contract (test_negotiation_rules)
        state, _ = sign_contract(state, SOFTWARE, meta(29))
    if target == stage.next:
        assert decide_advance(state, SOFTWARE, advance_to(target), meta(30)).to_stage == target
    else:
        with refused("forward-one-stage"):
            decide_advance(state, SOFTWARE, advance_to(target), meta(30))


def test_nothing_follows_after_sales() -> None:
    with refused("forward-one-stage"):
        decide_advance(at_stage(Stage.AFTER_SALES), SOFTWARE, advance_to(Stage.AFTER_SALES), meta(30))


def test_exit_criteria_name_what_is_missing() -> None:
    state = at_stage(Stage.NEEDS_ANALYSIS)
    cmd = AdvanceStage(to_stage=Stage.PROPOSAL, facts={"budget": "1m", "pain_points": " "})
    with pytest.raises(RuleViolation) as err:
        decide_advance(state, SOFTWARE, cmd, meta(30))
    assert err.value.rule == "exit-criteria"
    assert "pain_points, decision_makers, expected_close_date" in err.value.message


def test_facts_accumulate_across_commands() -> None:
    # identify's criteria (company, contact person, source) are recorded by the lead itself.
    assert decide_advance(opened(), SOFTWARE, AdvanceStage(to_stage=Stage.CONTACT), meta(1)).facts == {}
    state = at_stage(Stage.CONTACT)
    with refused("exit-criteria"):
        decide_advance(state, SOFTWARE, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS), meta(9))
    # first_touch recorded early (on entering contact) satisfies contact's exit criteria later.
    early = opened()
    early = apply(early, decide_advance(early, SOFTWARE, advance_to(Stage.CONTACT), meta(1)))
    assert decide_advance(early, SOFTWARE, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS), meta(9)).facts == {}


def test_pipelines_differ_in_exit_criteria() -> None:
    services = CATALOG.get("services")
    state = at_stage(Stage.NEEDS_ANALYSIS, services)
    facts = {k: "x" for k in ("pain_points", "budget", "decision_makers", "expected_close_date")}
    with refused("exit-criteria"):
        decide_advance(state, services, AdvanceStage(to_stage=Stage.PROPOSAL, facts=facts), meta(3))
    decide_advance(state, SOFTWARE, AdvanceStage(to_stage=Stage.PROPOSAL, facts=facts), meta(3))


def test_advance_updates_amount_and_refuses_negative() -> None:
    state = at_stage(Stage.PROPOSAL)
    event = decide_advance(state, SOFTWARE, advance_to(Stage.NEGOTIATION, amount=Decimal("90000")), meta(9))
    assert apply(state, event).amount == Decimal("90000")
    with refused("amount-not-negative"):
        decide_advance(state, SOFTWARE, advance_to(Stage.NEGOTIATION, amount=Decimal("-5")), meta(9))


@pytest.mark.parametrize("stage", [s for s in STAGE_ORDER if s.is_open])
def test_lost_from_any_stage_before_deal_then_reopened_into_it(stage: Stage) -> None:
    state = at_stage(stage)
    lost_event = decide_lose(state, MarkLost(reason=LossReason.PRICE, note="too dear"), meta(20))
    assert isinstance(lost_event, OpportunityLost)
    lost = apply(state, lost_event)
    assert lost.status == "lost"
    assert lost.timeline[-1].exited_at == meta(20).occurred_at
    reopened = apply(lost, decide_reopen(lost, Reopen(), meta(25)))
    assert reopened.status == stage.value
    assert reopened.stage == stage
    assert [v.stage for v in reopened.timeline][-2:] == [stage, stage]
    assert reopened.timeline[-1].entered_at == meta(25).occurred_at


@pytest.mark.parametrize("stage", [Stage.DEAL, Stage.AFTER_SALES])
def test_a_won_deal_cannot_be_lost(stage: Stage) -> None:
    with refused("lost-before-deal"):
        decide_lose(at_stage(stage), MarkLost(reason=LossReason.OTHER), meta(30))


def test_a_lost_deal_cannot_advance_or_be_lost_again() -> None:
    state = at_stage(Stage.PROPOSAL)
    lost = apply(state, decide_lose(state, MarkLost(reason=LossReason.COMPETITOR), meta(9)))
    with refused("not-while-lost"):
        decide_advance(lost, SOFTWARE, advance_to(Stage.NEGOTIATION), meta(10))
    with refused("not-while-lost"):
        decide_lose(lost, MarkLost(reason=LossReason.COMPETITOR), meta(10))


def test_only_a_lost_deal_is_reopened() -> None:
    with refused("reopen-only-lost"):
        decide_reopen(at_stage(Stage.CONTACT), Reopen(), meta(3))


def test_events_are_immutable_and_versioned() -> None:
    state = at_stage(Stage.CONTACT)
    event = decide_advance(state, SOFTWARE, advance_to(Stage.NEEDS_ANALYSIS), meta(3))
    assert isinstance(event, StageAdvanced)
    assert (event.version, event.schema_version, event.actor) == (3, 2, None)
    with pytest.raises(ValueError, match="frozen"):
        event.version = 9  # type: ignore[misc]


def test_apply_refuses_gaps_and_streams_without_open() -> None:
    state = at_stage(Stage.CONTACT)
    event = decide_advance(state, SOFTWARE, advance_to(Stage.NEEDS_ANALYSIS), meta(3))
    with pytest.raises(ValueError, match="expected version 3"):
        apply(state, event.model_copy(update={"version": 4}))
    with pytest.raises(ValueError, match="does not start"):
        apply(
            None,
            OpportunityReopened(
                opportunity_id="x", version=2, event_id="e", occurred_at=T0, stage=Stage.IDENTIFY
            ),
        )


def test_replay_of_decided_events_equals_state() -> None:
    events: list[DomainEvent] = []
    first = decide_open(open_cmd(), SOFTWARE, meta())
    events.append(first)
    state = apply(None, first)
    for day, stage in enumerate([Stage.CONTACT, Stage.NEEDS_ANALYSIS], start=1):
        events.append(decide_advance(state, SOFTWARE, advance_to(stage), meta(day)))
        state = apply(state, events[-1])
    events.append(decide_lose(state, MarkLost(reason=LossReason.NO_BUDGET), meta(5)))
    state = apply(state, events[-1])
    events.append(decide_reopen(state, Reopen(), meta(8)))
    state = apply(state, events[-1])
    assert replay(events) == state
