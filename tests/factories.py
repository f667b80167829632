"""Small builders shared by the tests."""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import TYPE_CHECKING

from domain.after_sales import CloseRelationship, RelationshipState, relationship_id
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

if TYPE_CHECKING:
    from temporalio.client import Client

    from app.deal_client import DealClient

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_ids = count(1)

# Facts that satisfy every exit criterion of both shipped pipelines.
ALL_FACTS = {
    "first_touch": "call",
    "pain_points": "manual reporting",
    "budget": "200k",
    "decision_makers": "CFO",
    "expected_close_date": "2026-06-30",
    "site_visit": "done",
    "quote": "Q-1",
    "demo_done": "yes",
    "statement_of_work": "SOW-1",
    "objections_handled": "yes",
    "contract_reviewed": "yes",
    "contract_signed": "yes",
}


def meta(days: float = 0) -> EventMeta:
    return EventMeta(event_id=f"evt-{next(_ids)}", occurred_at=T0 + timedelta(days=days))


def open_cmd(opportunity_id: str = "opp-1", pipeline: str = "software", **kw: object) -> OpenOpportunity:
    fields: dict[str, object] = {
        "opportunity_id": opportunity_id,
        "pipeline": pipeline,
        "owner": "alice",
        "company": "Acme",
        "contact_person": "Wang Li",
        "source": "trade show",
        "amount": Decimal("100000"),
    }
    fields.update(kw)
    return OpenOpportunity.model_validate(fields)


def advance_to(stage: Stage, **kw: object) -> AdvanceStage:
    return AdvanceStage.model_validate({"to_stage": stage, "facts": ALL_FACTS, **kw})


def good_contract(state: OpportunityState, **kw: object) -> Contract:
    """A contract that passes every clause check for the deal as it stands."""
    fields: dict[str, object] = {
        "contract_id": f"{state.opportunity_id}-contract",
        "total": expected_total(state.amount, state.approved_discount),
        "discount": state.approved_discount,
        "payment_terms_days": 30,
        "liability_cap": Decimal(1_000_000),
    }
    fields.update(kw)
    return Contract.model_validate(fields)


def sign_contract(
    state: OpportunityState, pipeline: Pipeline, meta: EventMeta
) -> tuple[OpportunityState, list[DomainEvent]]:
    """Submit a good contract, pass the clause checks and legal's sign-off, all at `meta`'s time."""
    steps: list[Callable[[OpportunityState, EventMeta], list[DomainEvent]]] = [
        lambda s, m: decide_contract_submit(s, pipeline, SubmitContract(contract=good_contract(s)), m),
        lambda s, m: decide_contract_checked(s, [], m),
        lambda s, m: decide_legal(s, pipeline, DecideContract(by="lin.ma"), m),
    ]
    events: list[DomainEvent] = []
    for n, step in enumerate(steps):
        for event in step(state, meta.model_copy(update={"event_id": f"{meta.event_id}-c{n}"})):
            state = apply(state, event)
            events.append(event)
    return state, events


async def sign_off(deals: "DealClient", opportunity_id: str) -> None:
    """Through the workflow: submit a contract that passes the checks and have legal sign it."""
    state = await deals.show(opportunity_id)
    await deals.submit_contract(opportunity_id, SubmitContract(contract=good_contract(state)))
    await deals.decide_contract(opportunity_id, DecideContract(by="lin.ma", comment="approved"))


async def through_all_stages(
    deals: "DealClient", opportunity_id: str, facts: dict[str, str] = ALL_FACTS
) -> None:
    for stage in STAGE_ORDER[1:]:
        if stage is Stage.DEAL:
            await sign_off(deals, opportunity_id)
        await deals.advance(opportunity_id, AdvanceStage(to_stage=stage, facts=facts))


async def relationship_when(
    deals: "DealClient", deal_id: str, check: Callable[[RelationshipState], bool], seconds: float = 10
) -> RelationshipState:
    """The won deal's relationship once `check` holds: the worker reacts to a fired timer a moment
    after the time-skipping server's clock passes it, and starts the relationship a moment after
    the deal is won."""
    from app.deal_client import DealRefused

    async with asyncio.timeout(seconds):
        while True:
            try:
                state = await deals.relationship(deal_id)
                if check(state):
                    return state
            except DealRefused:
                pass  # not started yet
            await asyncio.sleep(0.05)


def script(
    oid: str, owner: str, pipeline: str, steps: list[tuple[float, str]], company: str = "Acme"
) -> list[DomainEvent]:
    """Events of one opportunity: (day, what) with what a stage name, 'lost' or 'reopen';
    days count from T0, the first step opens it."""
    pipe = load_catalog().get(pipeline)
    events: list[DomainEvent] = []
    state: OpportunityState | None = None
    for n, (day, what) in enumerate(steps, start=1):
        meta = EventMeta(event_id=f"{oid}-{n}", occurred_at=T0 + timedelta(days=day))
        if state is None:
            event: DomainEvent = decide_open(
                open_cmd(oid, pipeline=pipeline, owner=owner, company=company), pipe, meta
            )
        elif what == "lost":
            event = decide_lose(state, MarkLost(reason=LossReason.PRICE), meta)
        elif what == "reopen":
            event = decide_reopen(state, Reopen(), meta)
        else:
            if what == "deal":
                state, signed = sign_contract(state, pipe, meta)
                events.extend(signed)
            event = decide_advance(state, pipe, AdvanceStage(to_stage=Stage(what), facts=ALL_FACTS), meta)
        state = apply(state, event)
        events.append(event)
    return events


async def end_relationship(deals: "DealClient", client: "Client", deal_id: str, by: str) -> None:
    """Close the won deal's relationship through its update and wait for its end (if it runs):
    terminating one with an activity in flight leaves the time-skipping server's clock stuck."""
    from app.deal_client import DealRefused

    with contextlib.suppress(DealRefused):
        await deals.close_relationship(deal_id, CloseRelationship(reason="finished", by=by))
        await client.get_workflow_handle(relationship_id(deal_id)).result()
