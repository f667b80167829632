"""The one fold every stream uses (domain/fold.py): how a stream must start and continue, and that
both streams the domain has (an opportunity, a customer relationship) keep to it."""

import ast
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from domain.after_sales import DealWon, apply_after_sales, decide_start, replay_after_sales
from domain.event_envelope import Event, envelope
from domain.events import EVENT_ADAPTER, DiscountVoted, RevisitDue, StageAdvanced
from domain.fold import Fold
from domain.opportunity import apply, decide_open
from domain.pipeline import load_catalog
from domain.stages import Stage
from tests.factories import T0, meta, open_cmd

SOFTWARE = load_catalog().get("software")


class Counted(Event):
    type: Literal["Counted"] = "Counted"


class Added(Event):
    type: Literal["Added"] = "Added"
    n: int


class Tally(BaseModel):
    total: int = 0
    seen: list[str] = []
    version: int = 0


def tally_fold() -> Fold[Tally]:
    fold: Fold[Tally] = Fold("a tally stream", Counted, lambda e: Tally(version=e.version))

    @fold.on_every
    def _seen(state: Tally, event: Event) -> None:
        state.seen.append(type(event).__name__)

    @fold.on(Added)
    def _added(state: Tally, event: Added) -> None:
        state.total += event.n

    return fold


def at(version: int) -> dict[str, object]:
    return envelope("t-1", version, meta())


def test_a_fold_starts_with_its_opening_event_and_adds_each_later_one() -> None:
    fold = tally_fold()
    state = fold.replay([Counted(**at(1)), Added(**at(2), n=2), Added(**at(3), n=5)])
    assert state == Tally(total=7, seen=["Added", "Added"], version=3)
    assert fold.replay([]) is None


def test_the_state_a_caller_holds_is_never_changed() -> None:
    fold = tally_fold()
    first = fold.apply(None, Counted(**at(1)))
    second = fold.apply(first, Added(**at(2), n=3))
    assert (first.total, first.seen, first.version) == (0, [], 1)
    assert (second.total, second.version) == (3, 2)


def test_a_stream_must_start_with_its_opening_event_and_only_once() -> None:
    fold = tally_fold()
    with pytest.raises(ValueError, match="t-1: stream does not start with Counted"):
        fold.apply(None, Added(**at(1), n=1))
    with pytest.raises(ValueError, match="t-1: Counted on an existing stream"):
        fold.apply(fold.apply(None, Counted(**at(1))), Counted(**at(2)))


@pytest.mark.parametrize("version", [1, 3, 7])
def test_versions_follow_without_a_gap_or_a_repeat(version: int) -> None:
    fold = tally_fold()
    with pytest.raises(ValueError, match=f"t-1: expected version 2, got {version}"):
        fold.apply(fold.apply(None, Counted(**at(1))), Added(**at(version), n=1))


def test_an_event_the_stream_does_not_hold_is_refused_and_a_type_registers_once() -> None:
    fold = tally_fold()
    state = fold.apply(None, Counted(**at(1)))
    stranger = StageAdvanced(**at(2), from_stage=Stage.IDENTIFY, to_stage=Stage.CONTACT)
    with pytest.raises(ValueError, match="StageAdvanced does not belong to a tally stream"):
        fold.apply(state, stranger)
    with pytest.raises(ValueError, match="Added already folds into a tally stream"):
        fold.on(Added)(lambda state, event: None)


def test_the_opportunity_and_the_relationship_refuse_each_others_events() -> None:
    deal = apply(None, decide_open(open_cmd("opp-f"), SOFTWARE, meta()))
    won = DealWon(
        deal_id="opp-f",
        pipeline="software",
        owner="alice",
        customer="Acme",
        contact_person="Wang Li",
        amount=Decimal(1),
        won_at=T0,
    )
    relationship = apply_after_sales(None, decide_start(won, meta()))
    due = RevisitDue(**envelope(relationship.relationship_id, 2, meta()), number=1, due_at=T0, owner="a")
    with pytest.raises(ValueError, match="RevisitDue does not belong to an opportunity stream"):
        apply(deal, due.model_copy(update={"stream_id": "opp-f"}))
    advanced = StageAdvanced(
        **envelope("opp-f", 2, meta()), from_stage=Stage.IDENTIFY, to_stage=Stage.CONTACT
    )
    with pytest.raises(ValueError, match="StageAdvanced does not belong to an after-sales stream"):
        apply_after_sales(relationship, advanced)
    assert replay_after_sales([decide_start(won, meta()), due]) == apply_after_sales(relationship, due)


def test_an_event_that_needs_what_the_state_lacks_is_refused() -> None:
    deal = apply(None, decide_open(open_cmd("opp-g"), SOFTWARE, meta()))
    vote = DiscountVoted(
        **envelope("opp-g", 2, meta(1)),
        request_id="r",
        approver="mei.chen",
        role="manager",
        approve=True,
        level=0,
        level_name="manager",
    )
    with pytest.raises(ValueError, match="opp-g: DiscountVoted v2 does not fit the state"):
        apply(deal, vote)


def test_every_stored_event_type_has_a_home_in_exactly_one_fold() -> None:
    """A new event type added to `DomainEvent` must be folded by one stream, or it could never be
    read back into a state."""
    from domain.after_sales_state import RELATIONSHIP
    from domain.opportunity_state import OPPORTUNITY

    names = EVENT_ADAPTER.json_schema()["discriminator"]["mapping"]
    for name in names:
        homes = [
            fold.kind
            for fold in (OPPORTUNITY, RELATIONSHIP)
            if name in {t.__name__ for t in fold.event_types()}
        ]
        assert len(homes) == 1, (name, homes)


def test_domain_imports_neither_temporal_nor_the_database() -> None:
    """The domain is pure (design.md §3): workflows and stores depend on it, never the reverse."""
    domain = Path(__file__).parents[1] / "domain"
    for path in sorted(domain.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                root = name.split(".")[0]
                assert root not in {"temporalio", "psycopg", "psycopg_pool"}, f"{path.name} imports {name}"
