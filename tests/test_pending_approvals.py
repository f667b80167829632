"""The approvals inbox: one query of its read model, routed by the deal's own recorded policy, with
today's catalog filling in only for requests stored before the events recorded their routing."""

from datetime import timedelta
from decimal import Decimal

from domain.approvals import Approver
from domain.commands import DecideDiscount, RequestDiscount
from domain.events import DiscountRequested, DomainEvent, EventMeta
from domain.negotiation import decide_discount_request, decide_discount_timeout, decide_discount_vote
from domain.opportunity import OpportunityState, apply, replay
from domain.pipeline import PipelineCatalog, load_catalog
from reports.pending_approvals import PendingApproval, pending_approvals
from reports.projector import Projector
from store.event_store import EventStore
from tests.factories import T0, script

CATALOG = load_catalog()
SOFTWARE, SERVICES = CATALOG.get("software"), CATALOG.get("services")
TO_NEGOTIATION: list[tuple[float, str]] = [
    (0, "identify"),
    (1, "contact"),
    (2, "needs_analysis"),
    (3, "proposal"),
    (4, "negotiation"),
]


class Deal:
    def __init__(self, oid: str, owner: str, pipeline: str = "software") -> None:
        self.events: list[DomainEvent] = script(oid, owner, pipeline, TO_NEGOTIATION)
        self.pipeline = CATALOG.get(pipeline)
        state = replay(self.events)
        assert state is not None
        self.state: OpportunityState = state

    def then(self, produced: list[DomainEvent]) -> "Deal":
        for event in produced:
            self.state = apply(self.state, event)
            self.events.append(event)
        return self

    def request(self, pct: int, hours: float) -> "Deal":
        cmd = RequestDiscount(discount=Decimal(pct))
        return self.then(decide_discount_request(self.state, self.pipeline, cmd, self.at(hours)))

    def vote(self, who: str, hours: float, approve: bool = True) -> "Deal":
        cmd = DecideDiscount(approver=who, approve=approve)
        return self.then(decide_discount_vote(self.state, self.pipeline, cmd, self.at(hours)))

    def timeout(self, hours: float) -> "Deal":
        return self.then(decide_discount_timeout(self.state, self.pipeline, self.at(hours)))

    def at(self, hours: float) -> EventMeta:
        oid = self.state.opportunity_id
        return EventMeta(event_id=f"{oid}-h{hours}", occurred_at=T0 + timedelta(days=10, hours=hours))


async def inbox(
    store: EventStore, approver: str | None = None, catalog: PipelineCatalog | None = None
) -> list[PendingApproval]:
    await Projector(store).catch_up()
    async with store.pool.connection() as conn:
        return await pending_approvals(conn, approver, catalog)


async def test_the_inbox_follows_requests_votes_escalations_and_decisions(store: EventStore) -> None:
    deals = [
        Deal("A", "an.li").request(12, 0),  # manager level: mei.chen (limit 15) or the director
        Deal("B", "an.li").request(12, 0).timeout(48),  # escalated to the director
        Deal("C", "an.li").request(12, 0).vote("mei.chen", 5),  # approved: gone
        Deal("D", "an.li").request(8, 0).request(12, 2),  # the second supersedes the first
        Deal("E", "an.li").request(4, 0),  # the owner's own grant: never pending
        Deal("F", "an.li", "services").request(8, 0).vote("mei.chen", 3),  # 会签: jun.wu still to vote
    ]
    for deal in deals:
        await store.append(deal.events)
    found = {p.opportunity_id: p for p in await inbox(store)}
    assert sorted(found) == ["A", "B", "D", "F"]
    assert (found["A"].level, found["A"].approvers) == ("manager", ("mei.chen", "hua.zhang"))
    assert found["A"].escalates_at == found["A"].waiting_since + timedelta(hours=48)
    assert (found["B"].level, found["B"].approvers) == ("director", ("hua.zhang",))
    assert found["B"].waiting_since == T0 + timedelta(days=10, hours=48)
    latest = deals[3].state.discount_request
    assert latest is not None
    assert (found["D"].discount, found["D"].request_id) == (Decimal(12), latest.request_id)
    assert found["F"].approvers == ("jun.wu", "hua.zhang")  # mei.chen voted: no second vote
    assert [p.opportunity_id for p in await inbox(store, "jun.wu")] == ["F"]
    assert [p.opportunity_id for p in await inbox(store, "hua.zhang")] == ["A", "B", "D", "F"]
    assert await inbox(store, "an.li") == []  # nobody decides their own deal

    await store.append(Deal("A2", "bo.wang").events)  # later events leave the others as they were
    await store.append(deals[0].vote("hua.zhang", 30).events[-2:])  # A approved by the director
    assert [p.opportunity_id for p in await inbox(store)] == ["B", "D", "F"]


async def test_the_deals_own_routing_wins_over_todays_file(store: EventStore) -> None:
    await store.append(Deal("A", "an.li").request(12, 0).events)
    policy = SOFTWARE.approvals
    assert policy is not None
    # Since the request, mei.chen left and a new manager came: the request keeps its own routing.
    changed = policy.model_copy(
        update={"approvers": (Approver(name="new.boss", role="manager", limit=Decimal(20)),)}
    )
    today = CATALOG.model_copy(
        update={
            "pipelines": {**CATALOG.pipelines, "software": SOFTWARE.model_copy(update={"approvals": changed})}
        }
    )
    [found] = await inbox(store, catalog=today)
    assert found.approvers == ("mei.chen", "hua.zhang")
    assert await inbox(store, "new.boss", today) == []


async def test_requests_stored_before_routing_was_recorded_use_the_catalog(store: EventStore) -> None:
    deal = Deal("OLD", "an.li").request(12, 0)
    # As stored before DiscountRequested carried approvers and a deadline.
    old = deal.events[-1]
    assert isinstance(old, DiscountRequested)
    deal.events[-1] = old.model_copy(update={"approvers": (), "deadline": None})
    await store.append(deal.events)
    [unknown] = await inbox(store)
    assert (unknown.approvers, unknown.escalates_at) == ((), unknown.waiting_since)  # nothing to go on
    [filled] = await inbox(store, catalog=CATALOG)
    assert filled.approvers == ("mei.chen", "hua.zhang")
    assert filled.escalates_at == filled.waiting_since + timedelta(hours=48)
    assert [p.opportunity_id for p in await inbox(store, "mei.chen", CATALOG)] == ["OLD"]
    assert await inbox(store, "jun.wu", CATALOG) == []  # limit 10: not for a 12 % request
