"""The contract between the events and the read side.

The projector reads event JSON only through the fields it declares per event type
(reports/projector_fields.py), and the declaration is what its code is typed with. Here: every
declared field is a field of that event's pydantic model (renaming one in domain/ without updating
the projector fails), optional exactly when the model gives it a default (old events may lack it),
nested fields checked against the nested models; stored events really carry those fields; every
event type has a place on the read side; no module under reports/ but the projector's reads event
payloads or the events table; and the read models' declared columns are the tables' columns.
"""

import json
import random
import re
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pytest
from pydantic import BaseModel, TypeAdapter

from domain.events import DomainEvent
from reports import projector_fields as fields
from reports.projector import PROJECTIONS, TABLES
from reports.projector_fields import READS, StoredEvent, read
from store.event_store import EventStore
from tests.random_lives import random_life

REPORTS = Path(__file__).resolve().parent.parent / "reports"


def event_models() -> dict[str, type[BaseModel]]:
    """Each domain event's model by its `type`, from the DomainEvent union itself."""
    union = typing.get_args(DomainEvent)[0]
    return {model.model_fields["type"].default: model for model in typing.get_args(union)}


def assert_declares_fields_of(declared: type, model: type[BaseModel]) -> None:
    hints = typing.get_type_hints(declared)
    for name, hint in hints.items():
        assert name in model.model_fields, f"{model.__name__} has no field {name!r}"
        field = model.model_fields[name]
        required = name in declared.__required_keys__  # type: ignore[attr-defined]
        assert required == field.is_required(), (
            f"{model.__name__}.{name}: declare it NotRequired exactly when the model has a default"
            " (events stored before the field existed lack it)"
        )
        nested = [a for a in typing.get_args(hint) if typing.is_typeddict(a)]
        if nested:  # a list of objects: check their fields against the model's item type
            item = next(a for a in typing.get_args(field.annotation) if isinstance(a, type))
            assert issubclass(item, BaseModel), f"{model.__name__}.{name} holds no models"
            assert_declares_fields_of(nested[0], item)


@pytest.mark.parametrize("event_type", sorted(READS))
def test_every_field_the_projector_reads_is_a_field_of_the_event(event_type: str) -> None:
    models = event_models()
    assert event_type in models, f"no domain event is called {event_type}"
    assert_declares_fields_of(READS[event_type], models[event_type])


def test_a_renamed_field_fails_the_check() -> None:
    class OpportunityOpened(TypedDict):  # as if the model's `owner` had become `rep`
        pipeline: str
        rep: str

    class Optional(TypedDict):  # a field with a default read as if every event had it
        to_stage: str
        amount: str | None

    class Failure(TypedDict):  # the model's `check` read as `clause`
        clause: str

    class Nested(TypedDict):
        contract_id: str
        failures: NotRequired[list[Failure]]

    models = event_models()
    for declared, event_type in (
        (OpportunityOpened, "OpportunityOpened"),
        (Optional, "StageAdvanced"),
        (Nested, "ContractChecked"),
    ):
        with pytest.raises(AssertionError):
            assert_declares_fields_of(declared, models[event_type])


def test_stored_events_carry_the_declared_fields_with_their_json_types() -> None:
    rng, seen = random.Random(7), set()
    for i in range(60):
        for stream in random_life(f"d{i}", rng):
            for event in stream:
                if event.type in READS:
                    payload = json.loads(event.model_dump_json())
                    TypeAdapter(READS[event.type]).validate_python(payload, strict=True)
                    seen.add(event.type)
    assert seen == set(READS)  # the lives hold every type the projector reads


def test_the_accessor_refuses_another_types_declaration() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    advanced = StoredEvent.from_row((1, "o", 2, "StageAdvanced", at, '{"to_stage": "contact"}'))
    assert read(advanced, fields.StageAdvanced)["to_stage"] == "contact"
    with pytest.raises(TypeError):
        read(advanced, fields.OpportunityOpened)


def test_every_event_type_has_a_place_on_the_read_side() -> None:
    """A new event type must be given a read model (or be declared activity, say) by name."""
    handled = set().union(*(p.types for p in PROJECTIONS))
    assert handled == set(event_models())


def _modules_matching(pattern: str, flags: re.RegexFlag = re.IGNORECASE) -> set[str]:
    found = set()
    for path in sorted(REPORTS.glob("*.py")):
        if re.search(pattern, path.read_text(encoding="utf-8"), flags):
            found.add(path.name)
    return found


def test_only_the_projector_reads_event_payloads() -> None:
    assert _modules_matching(r"payload") <= {"projector.py", "projector_fields.py"}
    assert _modules_matching(r"json\.loads") == {"projector_fields.py"}
    # reports read the rm_* tables: none but the batch loop (and the service's lag, counting the
    # positions behind the checkpoint) names the events table in SQL
    assert _modules_matching(r"\b(FROM|JOIN)\s+events\b", re.NOFLAG) == {
        "projector.py",
        "projector_service.py",
    }


async def test_the_declared_columns_are_the_tables_columns(store: EventStore) -> None:
    async with store.pool.connection() as conn:
        for table in TABLES:
            cur = await conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = %s",
                (table.name,),
            )
            columns: list[Any] = [r[0] for r in await cur.fetchall()]
            assert sorted(columns) == sorted(table.columns), table.name
            cur = await conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = %s::regclass AND i.indisprimary",
                (table.name,),
            )
            key: list[Any] = [r[0] for r in await cur.fetchall()]
            assert sorted(key) == sorted(table.key), table.name
