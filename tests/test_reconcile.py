"""Reconciliation: the store against what the workflows' histories say they emitted."""

import asyncio
import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.reconcile import reconcile
from domain.after_sales import relationship_id
from domain.commands import AdvanceStage
from domain.stages import Stage
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd, relationship_when, through_all_stages

pytestmark = pytest.mark.both_databases  # reconcile reads the stored rows back: their SQL matters


async def test_a_faithful_store_matches_and_a_tampered_one_is_caught(
    time_skipping_env: WorkflowEnvironment, deals: DealClient, store: EventStore
) -> None:
    client = time_skipping_env.client
    open_deal, won = f"opp-{uuid.uuid4().hex[:8]}", f"opp-{uuid.uuid4().hex[:8]}"
    await deals.open(open_cmd(open_deal))
    await deals.advance(open_deal, AdvanceStage(to_stage=Stage.CONTACT, facts=ALL_FACTS))
    await deals.advance(open_deal, AdvanceStage(to_stage=Stage.NEEDS_ANALYSIS, facts=ALL_FACTS))
    await deals.open(open_cmd(won))
    await through_all_stages(deals, won)
    await relationship_when(deals, won, lambda state: state.version >= 1)
    async with asyncio.timeout(10):  # ... and its first event stored
        while not await store.read_stream(relationship_id(won)):  # noqa: ASYNC110 - polling the store
            await asyncio.sleep(0.05)

    checks = {c.stream: c for c in await reconcile(client, store, [open_deal, won, "never-started"])}
    assert set(checks) == {open_deal, won, relationship_id(won), "never-started"}
    for stream in (open_deal, won, relationship_id(won)):
        assert checks[stream].ok, checks[stream]
        assert checks[stream].emitted == checks[stream].stored > 0
    assert checks[won].stored >= 10  # every stage, the contract, its check, the sign-off
    assert checks["never-started"].problem is not None

    async with store.pool.connection() as conn:  # lose one event, add a stranger, alter a third
        await conn.execute("DELETE FROM events WHERE stream_id = %s AND version = 2", (open_deal,))
        await conn.execute(
            "INSERT INTO events (stream_id, version, event_id, type, schema_version, occurred_at,"
            " payload) SELECT stream_id, 99, 'stranger', type, schema_version, occurred_at, payload"
            " FROM events WHERE stream_id = %s AND version = 1",
            (open_deal,),
        )
        await conn.execute(
            "UPDATE events SET event_id = 'altered' WHERE stream_id = %s AND version = 3", (open_deal,)
        )
    [tampered] = await reconcile(client, store, [open_deal])
    assert not tampered.ok
    assert [m.split()[:2] for m in tampered.missing] == [["v2", "StageAdvanced"]]
    assert tampered.extra == ["v99 OpportunityOpened stranger"]
    assert len(tampered.differing) == 1
    assert "altered" in tampered.differing[0]
