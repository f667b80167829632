"""Deals for the web tests, made through the application layer as a rep would make them."""

from decimal import Decimal

from app.bootstrap import Dealflow
from domain.commands import AdvanceStage, LogTouch, OpenOpportunity, RequestDiscount
from domain.stages import Stage

FACTS = {
    Stage.CONTACT: {"first_touch": "call"},
    Stage.NEEDS_ANALYSIS: {},
    Stage.PROPOSAL: {
        "pain_points": "manual reporting",
        "budget": "250k",
        "decision_makers": "CFO, CIO",
        "expected_close_date": "2027-03-31",
    },
}


async def open_deal(
    dealflow: Dealflow,
    oid: str,
    owner: str,
    company: str,
    amount: int,
    to: Stage,
    discount: int | None = None,
) -> None:
    """Open a software deal for `owner`, move it to `to`, and ask for `discount` % there."""
    deals = await dealflow.deals()
    await deals.open(
        OpenOpportunity(
            opportunity_id=oid,
            pipeline="software",
            owner=owner,
            company=company,
            contact_person="Wang Li",
            source="referral",
            amount=Decimal(amount),
            actor=owner,
        )
    )
    facts: dict[str, str] = {}
    stage = Stage.IDENTIFY
    while stage is not to:
        nxt = stage.next
        assert nxt is not None
        facts = {**facts, **FACTS.get(nxt, {})}
        await deals.advance(oid, AdvanceStage(to_stage=nxt, facts=facts, actor=owner))
        stage = nxt
    await deals.log_touch(oid, LogTouch(kind="call", by=owner, note="talked budget", actor=owner))
    if discount is not None:
        await deals.request_discount(
            oid, RequestDiscount(discount=Decimal(discount), comment="competitor quote", actor=owner)
        )


async def won_deal(dealflow: Dealflow, oid: str, owner: str, company: str, amount: int) -> None:
    """A deal taken through every stage, its contract signed off by legal: after-sales begins."""
    from tests.factories import through_all_stages

    await open_deal(dealflow, oid, owner, company, amount, Stage.IDENTIFY)
    await through_all_stages(await dealflow.deals(), oid)


async def awaiting_legal(dealflow: Dealflow, oid: str, owner: str, company: str, amount: int) -> None:
    """A deal in negotiation whose contract passed the clause checks and waits for legal."""
    from domain.commands import SubmitContract
    from tests.factories import good_contract

    await open_deal(dealflow, oid, owner, company, amount, Stage.PROPOSAL)
    deals = await dealflow.deals()
    facts = {"quote": "Q-1", "demo_done": "yes"}
    await deals.advance(oid, AdvanceStage(to_stage=Stage.NEGOTIATION, facts=facts, actor=owner))
    state = await deals.show(oid)
    await deals.submit_contract(oid, SubmitContract(contract=good_contract(state), actor=owner))
