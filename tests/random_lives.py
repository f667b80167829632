"""Random whole lives of deals, through the domain's own deciders: stage moves and losses as in
`tests.test_projector.random_history`, and between them everything else a deal's stream can hold
(discount requests approved, rejected, escalated, expired or superseded, decisions sent as signals
and refused; calls logged; reminders and escalations of an idle deal; contracts that fail a clause
check before one is signed; expected close dates set, pushed and pulled in, alone or by a move's
facts; forecast categories set and cleared), and for a won
deal its after-sales stream (revisits answered or missed, renewals, the close). Every event type the
projector reads turns up in a few dozen lives."""

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from domain.after_sales import (
    CloseRelationship,
    DealWon,
    OpenRenewal,
    RecordFeedback,
    RelationshipState,
    apply_after_sales,
    decide_close,
    decide_feedback,
    decide_renewal,
    decide_revisit,
    decide_start,
)
from domain.commands import (
    AdvanceStage,
    DecideDiscount,
    LogTouch,
    MarkLost,
    Reopen,
    RequestDiscount,
    SetExpectedCloseDate,
    SetForecastCategory,
    SubmitContract,
)
from domain.contracts import ClauseCheck, ClauseFailure
from domain.discount_signals import decide_signalled_vote
from domain.errors import RuleViolation
from domain.events import DomainEvent, EventMeta
from domain.follow_up import decide_stall, decide_touch
from domain.forecast import decide_close_date, decide_forecast_category, decide_move
from domain.negotiation import (
    decide_contract_checked,
    decide_contract_submit,
    decide_discount_request,
    decide_discount_timeout,
    decide_discount_vote,
)
from domain.opportunity import (
    OpportunityState,
    apply,
    decide_lose,
    decide_open,
    decide_reopen,
)
from domain.pipeline import Pipeline, load_catalog
from domain.stages import STAGE_ORDER, LossReason, Stage
from tests.factories import ALL_FACTS, T0, good_contract, open_cmd, sign_contract

CATALOG = load_catalog()
OWNERS = ("an.li", "bo.wang", "xiao.a", "mei.chen")  # a manager may own a deal too
APPROVERS = ("mei.chen", "jun.wu", "hua.zhang")
SIGNALLER = "jun.wu"  # decides by signal (a chat bot): the rules' refusals are recorded
Decide = Callable[[OpportunityState, EventMeta], list[DomainEvent]]


class _Deal:
    def __init__(self, oid: str, rng: random.Random, pipeline: Pipeline) -> None:
        self.oid, self.rng, self.pipeline = oid, rng, pipeline
        self.day, self.n = rng.uniform(0, 30), 0
        opened = decide_open(
            open_cmd(oid, pipeline=pipeline.id, owner=rng.choice(OWNERS)), pipeline, self.meta()
        )
        self.state: OpportunityState = apply(None, opened)
        self.events: list[DomainEvent] = [opened]

    def meta(self, days: float | None = None) -> EventMeta:
        self.day += self.rng.uniform(0.1, 9) if days is None else days
        self.n += 1
        return EventMeta(event_id=f"{self.oid}-{self.n}", occurred_at=T0 + timedelta(days=self.day))

    def do(self, decide: Decide, days: float | None = None) -> None:
        """What `decide` makes of the deal now (`days` later), if the rules allow it."""
        try:
            produced = decide(self.state, self.meta(days))
        except RuleViolation:
            return
        for event in produced:
            self.state = apply(self.state, event)
            self.events.append(event)

    def discount(self) -> None:
        """A request, then a decision, a timeout, a vote, or nothing (a later one supersedes it)."""
        pct = Decimal(self.rng.choice((2, 4, 8, 9, 12, 18, 25)))
        self.do(lambda s, m: decide_discount_request(s, self.pipeline, RequestDiscount(discount=pct), m))
        for _ in range(self.rng.randint(0, 3)):
            roll = self.rng.random()
            if roll < 0.3:
                self.do(lambda s, m: decide_discount_timeout(s, self.pipeline, m), days=3)
            else:
                self.do(self._vote(self.rng.choice(APPROVERS), approve=roll < 0.85), days=0.5)

    def _vote(self, approver: str, approve: bool) -> Decide:
        vote = DecideDiscount(approver=approver, approve=approve, comment="", actor=approver)
        if approver == SIGNALLER:  # sent as a signal: a refusal is recorded, not raised
            return lambda s, m: decide_signalled_vote(s, self.pipeline, vote, f"sig-{m.event_id}", m)
        return lambda s, m: decide_discount_vote(s, self.pipeline, vote, m)

    def contract(self) -> None:
        """A draft that fails a clause check, sent back for redrafting."""
        draft = SubmitContract(contract=good_contract(self.state, payment_terms_days=400))
        self.do(lambda s, m: decide_contract_submit(s, self.pipeline, draft, m))
        failure = ClauseFailure(check=ClauseCheck.PAYMENT_TERMS, detail="400 days")
        self.do(lambda s, m: decide_contract_checked(s, [failure], m), days=0)

    def idle(self) -> None:
        """Nobody touches the deal past its SLA: a reminder, maybe an escalation."""
        assert self.pipeline.follow_up is not None
        policy = self.pipeline.follow_up
        for _ in range(self.rng.randint(1, 2)):
            sla = self.pipeline.stage(self.state.stage).sla_days or 1
            self.do(lambda s, m: decide_stall(s, self.pipeline, policy, m), days=sla * 2)

    def close_date(self) -> str:
        return (T0.date() + timedelta(days=self.rng.randint(0, 300))).isoformat()

    def forecast(self) -> None:
        """The close date set alone (a push or a pull-in, or the same date: refused), or the forecast
        category set on the deal or cleared."""
        if self.rng.random() < 0.7:
            cmd = SetExpectedCloseDate(expected_close_date=self.close_date())
            self.do(lambda s, m: [decide_close_date(s, cmd, m)])
        else:
            category = self.rng.choice(("commit", "best_case", "pipeline", None))
            set_ = SetForecastCategory(category=category)
            self.do(lambda s, m: [decide_forecast_category(s, set_, m)])

    def step(self) -> bool:
        """One random thing happens; False when the life is over."""
        if self.rng.random() < 0.25 and self.state.lost is None and self.state.stage.is_open:
            self.forecast()
        roll, state = self.rng.random(), self.state
        if state.lost is not None:
            if roll > 0.5:
                return False
            self.do(lambda s, m: [decide_reopen(s, Reopen(), m)])
        elif roll < 0.1 and state.stage.is_open:
            reason = self.rng.choice(list(LossReason))
            self.do(lambda s, m: [decide_lose(s, MarkLost(reason=reason), m)])
        elif roll < 0.2:
            self.do(lambda s, m: decide_touch(s, LogTouch(kind="call", by=s.owner), m))
        elif roll < 0.28 and state.stage.is_open:
            self.idle()
        elif roll < 0.5 and state.stage in (Stage.PROPOSAL, Stage.NEGOTIATION):
            self.discount()
        else:
            nxt = STAGE_ORDER[state.stage.position + 1]
            if nxt is Stage.DEAL:
                if self.rng.random() < 0.4:
                    self.contract()
                self.state, signed = sign_contract(self.state, self.pipeline, self.meta())
                self.events.extend(signed)
            facts = (
                ALL_FACTS
                if self.rng.random() < 0.7
                else {**ALL_FACTS, "expected_close_date": self.close_date()}
            )
            advance = AdvanceStage(to_stage=nxt, facts=facts)
            self.do(lambda s, m: decide_move(s, self.pipeline, advance, m))
        return self.state.stage is not Stage.AFTER_SALES and len(self.events) < 60


def _after_sales(deal: _Deal) -> list[DomainEvent]:
    """The won deal's relationship: revisits as they come due, answered or missed, a renewal now and
    then, and sometimes the close."""
    policy, state = deal.pipeline.after_sales, deal.state
    assert policy is not None
    won_at = next(e.occurred_at for e in deal.events if getattr(e, "to_stage", None) is Stage.DEAL)
    won = DealWon(
        deal_id=deal.oid,
        pipeline=deal.pipeline.id,
        owner=state.owner,
        customer=state.company,
        contact_person=state.contact_person,
        amount=state.amount,
        won_at=won_at,
    )
    n, rng = 0, deal.rng
    events: list[DomainEvent] = []
    relationship: RelationshipState | None = None

    def meta(after: timedelta) -> EventMeta:
        nonlocal n
        n += 1
        return EventMeta(event_id=f"{deal.oid}.after-sales-{n}", occurred_at=won_at + after)

    def add(*produced: DomainEvent) -> RelationshipState:
        nonlocal relationship
        for event in produced:
            relationship = apply_after_sales(relationship, event)
            events.append(event)
        assert relationship is not None
        return relationship

    now = add(decide_start(won, meta(timedelta(0))))
    for number in range(1, rng.randint(1, 5)):
        due = policy.due_at(won_at, number) - won_at
        now = add(*decide_revisit(now, policy, meta(due)))
        if rng.random() < 0.6:
            feedback = RecordFeedback(score=rng.randint(1, 5), by=state.owner)
            now = add(decide_feedback(now, feedback, meta(due + timedelta(days=1))))
        if rng.random() < 0.3:
            renewal = OpenRenewal(amount=Decimal(rng.randrange(1000, 90000)), by=state.owner)
            now = add(decide_renewal(now, renewal, meta(due + timedelta(days=2))))
    if rng.random() < 0.3:
        close = CloseRelationship(reason="acquired", by="mei.chen")
        add(decide_close(now, close, meta(timedelta(days=800))))
    return events


def random_life(oid: str, rng: random.Random) -> list[list[DomainEvent]]:
    """A deal's stream, and its relationship's stream if it was won."""
    deal = _Deal(oid, rng, CATALOG.get(rng.choice(("software", "services"))))
    while deal.step():
        pass
    if deal.state.stage is Stage.AFTER_SALES:
        return [deal.events, _after_sales(deal)]
    return [deal.events]
