"""Every command carries a request id: sent twice with the same id it is applied once and answers
as the first time; with another id it is a new command, refused or recorded as always."""

import asyncio
import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.errors import NotFound, Refused
from domain.commands import AdvanceStage, LogTouch
from domain.stages import Stage
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd


async def stored_versions(store: EventStore, oid: str, at_least: int) -> list[int]:
    """The stream's stored versions once `at_least` are there (appends follow the update's answer)."""
    async with asyncio.timeout(10):
        while len(versions := (await store.stream_versions([oid])).get(oid, [])) < at_least:  # noqa: ASYNC110 - polling the store
            await asyncio.sleep(0.05)
    return versions


async def test_an_open_retried_with_its_request_id_is_the_same_open(
    time_skipping_env: WorkflowEnvironment, deals: DealClient, store: EventStore
) -> None:
    oid = f"rid-{uuid.uuid4().hex[:8]}"
    first = await deals.open(open_cmd(oid), request_id="open-1")
    again = await deals.open(open_cmd(oid), request_id="open-1")  # its answer was lost: retried
    assert again.id == first.id
    with pytest.raises(Refused) as refused:
        await deals.open(open_cmd(oid), request_id="open-2")  # another request, the same id
    assert refused.value.rule == "unique-opportunity-id"
    await deals.log_touch(oid, LogTouch(kind="call", by="alice"))  # the run has started and saved
    history = [
        e.event_type async for e in time_skipping_env.client.get_workflow_handle(oid).fetch_history_events()
    ]
    assert history.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) == 1
    assert await stored_versions(store, oid, 2) == [1, 2]  # opened once, touched once


async def test_a_command_retried_with_its_request_id_is_applied_once(
    deals: DealClient, store: EventStore
) -> None:
    oid = f"rid-{uuid.uuid4().hex[:8]}"
    await deals.open(open_cmd(oid))
    move = AdvanceStage(to_stage=Stage.CONTACT, facts=ALL_FACTS)
    first = await deals.advance(oid, move, request_id="move-1")
    again = await deals.advance(oid, move, request_id="move-1")
    assert again == first  # the first answer, not a refusal of a move already made
    with pytest.raises(Refused) as refused:
        await deals.advance(oid, move, request_id="move-2")  # a new command: refused as always
    assert refused.value.rule == "forward-one-stage"

    touch = LogTouch(kind="call", by="alice", note="budget talk")
    touched = await deals.log_touch(oid, touch, request_id="touch-1")
    assert (await deals.log_touch(oid, touch, request_id="touch-1")) == touched
    recorded_again = await deals.log_touch(oid, touch, request_id="touch-2")  # a second call: recorded
    assert recorded_again.version == touched.version + 1
    assert await stored_versions(store, oid, 5) == [
        1,
        2,
        3,
        4,
        5,
    ]  # opened, moved (and its close date), touched twice


async def test_commands_without_a_request_id_each_get_their_own(deals: DealClient, store: EventStore) -> None:
    oid = f"rid-{uuid.uuid4().hex[:8]}"
    await deals.open(open_cmd(oid))
    touch = LogTouch(kind="call", by="alice")
    await deals.log_touch(oid, touch)
    await deals.log_touch(oid, touch)
    assert await stored_versions(store, oid, 3) == [1, 2, 3]


async def test_a_caller_cannot_open_a_renewal_of_someone_elses_deal(deals: DealClient) -> None:
    oid = f"opp-{uuid.uuid4().hex[:10]}"
    with pytest.raises(Refused) as refused:
        await deals.open(open_cmd(oid, renewal_of="acme-01"))
    assert refused.value.rule == "renewal-by-after-sales"
    with pytest.raises(NotFound):
        await deals.show(oid)  # nothing was started
