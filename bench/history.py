"""Write a realistic event history of any size straight into the event store, with COPY.

    python -m bench.history --events 1000000 [--database-url URL] [--seed 1]

Opportunities are played through the domain's own deciders (so every event is one the workflows
could have produced: exit criteria met, contracts checked and signed off before the deal, losses with
reasons, reopenings), spread over three years, 6 reps, both shipped pipelines. Streams are named
`gen-*`; running it again first removes the earlier `gen-*` streams.
"""

import argparse
import asyncio
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.commands import AdvanceStage, DecideContract, MarkLost, OpenOpportunity, Reopen, SubmitContract
from domain.contracts import Contract, expected_total
from domain.events import DomainEvent, EventMeta
from domain.negotiation import decide_contract_checked, decide_contract_submit, decide_legal
from domain.opportunity import (
    OpportunityState,
    apply,
    decide_advance,
    decide_lose,
    decide_open,
    decide_reopen,
)
from domain.pipeline import Pipeline, load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from store.event_store import EventStore

PREFIX = "gen-"
REPS = ("an.li", "bo.wang", "chen.zhao", "dai.liu", "fang.xu", "xiao.a")
START = datetime(2024, 1, 1, tzinfo=UTC)
LOSS_CHANCE = {"identify": 0.2, "contact": 0.15, "needs_analysis": 0.15, "proposal": 0.15, "negotiation": 0.1}


CLOSE_DATE = "2027-06-30"


def all_facts(pipeline: Pipeline) -> dict[str, str]:
    """A fact for every exit criterion of every stage: nothing holds a move back (a close date is a
    date: the rules refuse anything else)."""
    facts = {c: "yes" for s in STAGE_ORDER for c in pipeline.stage(s).exit_criteria}
    return facts | ({"expected_close_date": CLOSE_DATE} if "expected_close_date" in facts else {})


def opportunity(
    n: int, rng: random.Random, pipelines: list[Pipeline], prefix: str = PREFIX
) -> list[DomainEvent]:
    """One opportunity's whole stream."""
    pipeline = pipelines[n % len(pipelines)]
    oid, facts = f"{prefix}{n:07d}", all_facts(pipeline)
    at = START + timedelta(days=rng.uniform(0, 3 * 365))
    seq = 0

    def meta() -> EventMeta:
        nonlocal at, seq
        at, seq = at + timedelta(days=rng.expovariate(1 / 6)), seq + 1
        return EventMeta(event_id=f"{oid}.{seq}", occurred_at=at)

    lead = OpenOpportunity(
        opportunity_id=oid,
        pipeline=pipeline.id,
        owner=REPS[n % len(REPS)],
        company=f"company {rng.randrange(n + 1)}",
        contact_person="contact",
        source=rng.choice(("web", "referral", "trade show")),
        amount=Decimal(rng.randrange(20_000, 2_000_000, 1000)),
    )
    events: list[DomainEvent] = [decide_open(lead, pipeline, meta())]
    state: OpportunityState = apply(None, events[0])
    reopened = False
    while state.stage is not Stage.AFTER_SALES:
        if state.lost is not None:
            if reopened or rng.random() < 0.8:
                break
            reopened = True
            step: list[DomainEvent] = [decide_reopen(state, Reopen(), meta())]
        elif state.stage.is_open and rng.random() < LOSS_CHANCE.get(state.stage.value, 0):
            step = [decide_lose(state, MarkLost(reason=rng.choice(list(LossReason))), meta())]
        else:
            nxt = STAGE_ORDER[state.stage.position + 1]
            step = []
            if nxt is Stage.DEAL and pipeline.contract is not None:
                step += _sign(state, pipeline, meta)
                for e in step:
                    state = apply(state, e)
            step.append(decide_advance(state, pipeline, AdvanceStage(to_stage=nxt, facts=facts), meta()))
            state = apply(state, step[-1])
            events += step
            continue
        for e in step:
            state = apply(state, e)
        events += step
    return events


def _sign(state: OpportunityState, pipeline: Pipeline, meta: Callable[[], EventMeta]) -> list[DomainEvent]:
    contract = Contract(
        contract_id=f"{state.opportunity_id}-c",
        total=expected_total(state.amount, state.approved_discount),
        discount=state.approved_discount,
        payment_terms_days=30,
        liability_cap=Decimal(1_000_000),
    )
    steps: list[Callable[[OpportunityState, EventMeta], list[DomainEvent]]] = [
        lambda s, m: decide_contract_submit(s, pipeline, SubmitContract(contract=contract), m),
        lambda s, m: decide_contract_checked(s, [], m),
        lambda s, m: decide_legal(s, pipeline, DecideContract(by="lin.ma"), m),
    ]
    out: list[DomainEvent] = []
    for step in steps:
        for e in step(state, meta()):
            state = apply(state, e)
            out.append(e)
    return out


def history(events: int, seed: int, prefix: str = PREFIX) -> Iterator[list[DomainEvent]]:
    """Streams of opportunities, `events` events in all."""
    rng, pipelines = random.Random(seed), list(load_catalog().pipelines.values())
    made, n = 0, 0
    while made < events:
        stream = opportunity(n, rng, pipelines, prefix)[: events - made]
        made, n = made + len(stream), n + 1
        yield stream


async def write(store: EventStore, events: int, seed: int, chunk: int = 50_000) -> tuple[int, float]:
    """COPY the history into `events` in chunks; return (events written, seconds)."""
    await store.purge_streams(PREFIX)
    started, written, rows = time.perf_counter(), 0, []
    streams = history(events, seed)
    for stream in streams:
        rows += stream
        if len(rows) >= chunk:
            written += await store.copy_in(rows)
            rows = []
            print(f"  {written:,} events", flush=True)
    written += await store.copy_in(rows)
    return written, time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded PostgreSQL")
    args = parser.parse_args()
    from runtime.embedded import endpoints
    from runtime.settings import Settings

    settings = Settings.from_env()
    async with endpoints(settings, temporal=False) as ep:
        store = await EventStore.open(args.database_url or ep.database_url)
        try:
            n, seconds = await write(store, args.events, args.seed)
            print(f"wrote {n:,} events in {seconds:.1f} s ({n / seconds:,.0f} events/s)")
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
