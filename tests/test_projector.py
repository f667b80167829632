"""The catch-up projector: exactly once, resumable, and a rebuild from zero equals, byte for byte,
what incremental catch-up produced, also while many writers commit concurrently. The histories are
whole lives (tests/random_lives.py), so every read model gets rows, and rows of earlier batches
are changed by later ones."""

import asyncio
import random
from datetime import timedelta

from domain.commands import AdvanceStage, MarkLost, Reopen
from domain.events import DomainEvent, EventMeta
from domain.opportunity import (
    OpportunityState,
    apply,
    decide_advance,
    decide_lose,
    decide_open,
    decide_reopen,
)
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from reports.projector import READ_MODELS, Projector, dump_read_models
from store.event_store import EventStore
from tests.factories import ALL_FACTS, T0, open_cmd, sign_contract
from tests.random_lives import random_life

SOFTWARE = load_catalog().get("software")


def random_history(oid: str, rng: random.Random) -> list[DomainEvent]:
    """A plausible life: forward moves, a loss now and then, sometimes reopened."""
    day, n = rng.uniform(0, 30), 0
    events: list[DomainEvent] = []

    def meta() -> EventMeta:
        nonlocal day, n
        day, n = day + rng.uniform(0.1, 9), n + 1
        return EventMeta(event_id=f"{oid}-{n}", occurred_at=T0 + timedelta(days=day))

    owner = rng.choice(["an.li", "bo.wang", "xiao.a"])
    state: OpportunityState | None = None
    opened = decide_open(open_cmd(oid, owner=owner), SOFTWARE, meta())
    state = apply(None, opened)
    events.append(opened)
    while state.stage is not Stage.AFTER_SALES and len(events) < 20:
        roll = rng.random()
        if state.lost is not None:
            if roll > 0.5:
                break
            event: DomainEvent = decide_reopen(state, Reopen(), meta())
        elif roll < 0.12 and state.stage.is_open:
            event = decide_lose(state, MarkLost(reason=rng.choice(list(LossReason))), meta())
        else:
            nxt = STAGE_ORDER[state.stage.position + 1]
            if nxt is Stage.DEAL:
                state, signed = sign_contract(state, SOFTWARE, meta())
                events.extend(signed)
            event = decide_advance(state, SOFTWARE, AdvanceStage(to_stage=nxt, facts=ALL_FACTS), meta())
        state = apply(state, event)
        events.append(event)
    return events


def lives(n: int, rng: random.Random) -> list[list[DomainEvent]]:
    """The streams of `n` random deals' lives (a won deal's relationship is a stream of its own)."""
    return [stream for i in range(n) for stream in random_life(f"opp-{i}", rng)]


async def test_incremental_catch_up_equals_a_rebuild_from_zero(store: EventStore) -> None:
    rng = random.Random(1)
    histories = lives(30, rng)
    projector = Projector(store, batch_size=7)
    for chunk in range(0, len(histories), 5):  # events arrive over time; the projector catches up
        for history in histories[chunk : chunk + 5]:
            for start in range(0, len(history), 4):  # a stream in several commits
                await store.append(history[start : start + 4])
        await projector.catch_up()
    incremental = await dump_read_models(store)
    total = sum(len(h) for h in histories)
    assert (await projector.rebuild()).events == total
    assert await dump_read_models(store) == incremental
    for table in READ_MODELS:  # not empty dumps: every read model has rows
        section = incremental.split(f"-- {table}\n".encode())[1].split(b"-- ")[0]
        assert section.count(b"\n") >= 3, table


async def test_a_stopped_projector_resumes_where_it_stopped(store: EventStore) -> None:
    rng = random.Random(2)
    for history in lives(10, rng):
        await store.append(history)
    first = await Projector(store, batch_size=10).catch_up(max_batches=2)
    assert first.events == 20
    assert await Projector(store).checkpoint() == first.position
    rest = await Projector(store, batch_size=10).catch_up()  # a new process takes over
    assert rest.events > 0
    assert (await Projector(store).catch_up()).events == 0  # nothing left: nothing done twice
    resumed = await dump_read_models(store)
    await Projector(store).rebuild()
    assert await dump_read_models(store) == resumed


async def test_no_event_is_skipped_under_concurrent_writers(store: EventStore, database_url: str) -> None:
    """Twenty writers commit small batches in random interleavings while two projectors (with
    connections of their own, as in another process) catch up in a loop; late commits must still
    be projected, and the result must equal a rebuild."""
    rng = random.Random(3)
    histories = lives(60, rng)
    done = asyncio.Event()

    async def writer(mine: list[list[DomainEvent]], seed: int) -> None:
        local = random.Random(seed)
        for history in mine:
            for start in range(0, len(history), 3):  # a stream arrives in several commits
                if local.random() < 0.3:  # a slow commit: its positions are taken long before it ends
                    async with store.pool.connection() as conn, conn.transaction():
                        await store.append(history[start : start + 3], conn=conn)
                        await asyncio.sleep(local.uniform(0.005, 0.03))
                else:
                    await store.append(history[start : start + 3])
                await asyncio.sleep(local.uniform(0, 0.003))

    projector_store = await EventStore.open(database_url, max_size=2)

    async def projector_loop() -> int:
        projector, batches = Projector(projector_store, batch_size=5), 0
        while not done.is_set():
            if (await projector.catch_up(max_batches=1)).events:
                batches += 1
            await asyncio.sleep(0)
        return batches

    loops = [asyncio.create_task(projector_loop()) for _ in range(2)]
    await asyncio.gather(*(writer(histories[w::20], w) for w in range(20)))
    done.set()
    batches = await asyncio.gather(*loops)
    await projector_store.close()
    assert min(batches) > 3  # both projectors really worked while the writers wrote
    await Projector(store).catch_up()
    incremental = await dump_read_models(store)
    await Projector(store).rebuild()
    assert await dump_read_models(store) == incremental
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM rm_opportunities")
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == 60
