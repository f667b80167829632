"""Every stored event records its actor (schema 2): who sent the command behind it, None for what
the engine does by itself (timers); events stored before (schema 1) read with actor None."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.errors import Refused
from domain.commands import AdvanceStage, LogTouch
from domain.errors import RuleViolation
from domain.events import OpportunityOpened, StageAdvanced, event_from_json
from domain.opportunity import decide_advance, replay
from domain.pipeline import load_catalog
from domain.stages import Stage
from store.event_store import EventStore, StoredRow
from tests.factories import ALL_FACTS, meta, open_cmd

# Two events as they were stored before events carried an actor (schema 1, `opportunity_id`).
V1_OPENED = (
    '{"schema_version": 1, "opportunity_id": "old-1", "version": 1, "event_id": "e1",'
    ' "occurred_at": "2026-01-05T09:00:00Z", "type": "OpportunityOpened", "pipeline": "software",'
    ' "owner": "alice", "company": "Acme", "contact_person": "Wang Li", "source": "referral",'
    ' "amount": "120000"}'
)
V1_ADVANCED = (
    '{"schema_version": 1, "stream_id": "old-1", "version": 2, "event_id": "e2",'
    ' "occurred_at": "2026-01-06T09:00:00Z", "type": "StageAdvanced", "from_stage": "identify",'
    ' "to_stage": "contact", "facts": {"first_touch": "call"}, "amount": null}'
)


def test_schema_1_events_read_with_no_actor_and_new_ones_carry_it() -> None:
    opened, advanced = event_from_json(V1_OPENED), event_from_json(V1_ADVANCED)
    assert isinstance(opened, OpportunityOpened)
    assert isinstance(advanced, StageAdvanced)
    assert [(e.schema_version, e.actor) for e in (opened, advanced)] == [(1, None), (1, None)]
    state = replay([opened, advanced])
    assert state is not None
    assert state.stage is Stage.CONTACT
    software = load_catalog().get("software")
    cmd = AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS, facts=ALL_FACTS, actor="service:crm-sync")
    moved = decide_advance(state, software, cmd, meta(3))
    assert (moved.schema_version, moved.actor) == (2, "service:crm-sync")
    assert event_from_json(moved.model_dump_json()) == moved
    with pytest.raises(RuleViolation) as err:  # an actor is a person's name, as the rules check it
        decide_advance(state, software, cmd.model_copy(update={"actor": "a b"}), meta(3))
    assert err.value.rule == "id-format"


async def _rows_when(store: EventStore, oid: str, count: int) -> list[StoredRow]:
    for _ in range(200):
        rows = await store.read_stream_rows(oid)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.025)
    raise AssertionError(f"{oid}: fewer than {count} events stored")


async def test_stored_events_name_who_sent_the_command_and_timers_nobody(
    deals: DealClient, store: EventStore, time_skipping_env: WorkflowEnvironment
) -> None:
    oid = f"actor-{uuid.uuid4().hex[:10]}"
    await deals.open(open_cmd(oid, actor="service:crm-sync"))
    await deals.advance(
        oid, AdvanceStage(to_stage=Stage.CONTACT, facts={"first_touch": "call"}, actor="an.li")
    )
    with pytest.raises(Refused) as err:  # refused like any malformed value: nothing recorded
        await deals.log_touch(oid, LogTouch(kind="call", by="an.li", actor="an li\n"))
    assert err.value.rule == "id-format"
    await deals.log_touch(oid, LogTouch(kind="call", by="an.li"))  # a Python caller who says nobody
    await time_skipping_env.sleep(timedelta(days=11))  # past the contact SLA: the owner is reminded
    rows = await _rows_when(store, oid, 4)
    assert [(r.type, r.event.actor, r.event.schema_version) for r in rows] == [
        ("OpportunityOpened", "service:crm-sync", 2),
        ("StageAdvanced", "an.li", 2),
        ("TouchLogged", None, 2),
        ("StallReminded", None, 2),
    ]
