"""The event store against real PostgreSQL: exactly-once appends, conflicts, concurrency."""

import asyncio
from datetime import timedelta

import pytest

from domain.commands import AdvanceStage
from domain.events import DomainEvent, EventMeta
from domain.opportunity import apply, decide_advance, decide_open, replay
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, Stage
from store import append as append_module
from store.event_store import EventConflictError, EventStore
from store.migrations import MIGRATIONS
from store.pipeline_versions import pipeline_version, pipeline_versions, record_pipeline_version
from tests.factories import ALL_FACTS, T0, open_cmd, sign_contract

SOFTWARE = load_catalog().get("software")


def lifecycle(opportunity_id: str) -> list[DomainEvent]:
    """All seven stages' events of one opportunity, one day apart (10 events with the contract's)."""
    events: list[DomainEvent] = [
        decide_open(
            open_cmd(opportunity_id), SOFTWARE, EventMeta(event_id=f"{opportunity_id}-1", occurred_at=T0)
        )
    ]
    state = apply(None, events[0])
    for day, stage in enumerate(STAGE_ORDER[1:], start=1):
        meta = EventMeta(event_id=f"{opportunity_id}-{day + 1}", occurred_at=T0 + timedelta(days=day))
        if stage is Stage.DEAL:
            state, signed = sign_contract(state, SOFTWARE, meta)
            events.extend(signed)
        events.append(decide_advance(state, SOFTWARE, AdvanceStage(to_stage=stage, facts=ALL_FACTS), meta))
        state = apply(state, events[-1])
    return events


async def test_append_then_read_back_gives_the_same_events(store: EventStore) -> None:
    events = lifecycle("opp-a")
    result = await store.append(events)
    assert (result.stored, result.already_present) == (10, 0)
    assert await store.read_stream("opp-a") == events
    state = replay(await store.read_stream("opp-a"))
    assert state is not None
    assert state.version == 10


async def test_appending_twice_stores_once(store: EventStore) -> None:
    events = lifecycle("opp-b")
    await store.append(events[:4])
    result = await store.append(events)  # a retried activity re-sends what it already stored
    assert (result.stored, result.already_present) == (6, 4)
    assert (await store.stream_versions(["opp-b"]))["opp-b"] == list(range(1, 11))


async def test_a_different_event_at_a_taken_version_is_refused(store: EventStore) -> None:
    events = lifecycle("opp-c")
    await store.append(events[:2])
    impostor = events[1].model_copy(update={"event_id": "someone-else"})
    with pytest.raises(EventConflictError, match="opp-c v2"):
        await store.append([impostor, events[2]])
    # the whole batch was refused: v3 did not sneak in
    assert (await store.stream_versions(["opp-c"]))["opp-c"] == [1, 2]


async def test_concurrent_writers_lose_nothing_and_positions_follow_commit_order(store: EventStore) -> None:
    streams = {f"opp-{i}": lifecycle(f"opp-{i}") for i in range(30)}

    async def writer(events: list[DomainEvent]) -> None:
        for event in events:  # one event per transaction, the worst case for interleaving
            await store.append([event, event])

    await asyncio.gather(*(writer(events) for events in streams.values()))
    versions = await store.stream_versions(list(streams))
    assert versions == {sid: list(range(1, 11)) for sid in streams}
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT position, xmin::text::bigint FROM events ORDER BY position")
        rows = await cur.fetchall()
    assert len(rows) == 30 * 10
    # Appends are serialised, so a later position never belongs to an earlier transaction.
    xids = [int(str(r[1])) for r in rows]
    assert xids == sorted(xids)


async def test_schema_is_applied_once_even_by_racing_processes(database_url: str) -> None:
    stores = await asyncio.gather(*(EventStore.open(database_url, max_size=1) for _ in range(4)))
    async with stores[0].pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM dealflow_migrations")
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == len(MIGRATIONS)  # each applied exactly once
    for s in stores:
        await s.close()


async def test_pipeline_versions_keep_each_body_once_by_its_content_hash(store: EventStore) -> None:
    software = load_catalog().get("software")
    first = await record_pipeline_version(store, software)
    assert first == pipeline_version(load_catalog().get("software"))  # the same rules, the same hash
    assert await record_pipeline_version(store, software) == first  # kept once
    stricter = software.model_copy(update={"name": "Software licences (2027)"})
    second = await record_pipeline_version(store, stricter)
    assert second != first
    await record_pipeline_version(store, load_catalog().get("services"))
    versions = await pipeline_versions(store, "software")
    assert [(v.hash, v.pipeline) for v in versions] == [(first, software), (second, stricter)]
    assert versions[0].first_seen <= versions[1].first_seen
    assert {v.pipeline_id for v in await pipeline_versions(store)} == {"software", "services"}


@pytest.fixture(params=["copy", "rows"])
def staging(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a batch reaches the merge: staged by COPY, or passed as arrays."""
    monkeypatch.setattr(append_module, "COPY_FROM", 1 if request.param == "copy" else 10**6)
    return str(request.param)


async def test_both_stagings_keep_every_guarantee(store: EventStore, staging: str) -> None:
    events = [e for i in range(4) for e in lifecycle(f"{staging}-{i}")]
    await store.append(events[:15])
    shuffled = list(reversed(events))  # given in any order, each stream takes positions in version order
    result = await store.append([*shuffled, events[3]])  # a retry's events, one twice in the batch
    assert (result.stored, result.already_present) == (25, 15)
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT stream_id, version FROM events ORDER BY position")
        rows = [(str(r[0]), int(str(r[1]))) for r in await cur.fetchall()]
    assert rows == sorted(rows)  # streams were appended whole, in name order
    impostor = events[-1].model_copy(update={"event_id": "someone-else"})
    newcomer = lifecycle(f"{staging}-new")
    with pytest.raises(EventConflictError, match=f"{staging}-3 v10"):
        await store.append([*newcomer, impostor])
    assert await store.stream_versions([f"{staging}-new"]) == {}  # the whole batch was refused
    async with store.pool.connection() as conn, conn.transaction():  # twice in a caller's transaction
        await store.append(newcomer[:5], conn=conn)
        second = await store.append(newcomer, conn=conn)
    assert (second.stored, second.already_present) == (5, 5)
    assert (await store.stream_versions([f"{staging}-new"]))[f"{staging}-new"] == list(range(1, 11))
