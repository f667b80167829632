"""A seeded sales team's year, planned in advance: who opens which lead when, how long each stage
takes, where deals are lost and which lost ones come back. Pure: no Temporal, no database.

The driver (`demo.driver`) later plays these moves in time order against real workflows.
"""

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.after_sales import OpenRenewal, RecordFeedback
from domain.approvals import check_request
from domain.commands import (
    AdvanceStage,
    DecideContract,
    DecideDiscount,
    MarkLost,
    OpenOpportunity,
    Reopen,
    RequestDiscount,
    SubmitContract,
)
from domain.contracts import Contract, expected_total
from domain.errors import RuleViolation
from domain.pipeline import Pipeline, PipelineCatalog
from domain.stages import STAGE_ORDER, LossReason, Stage

Command = (
    OpenOpportunity
    | AdvanceStage
    | MarkLost
    | Reopen
    | RequestDiscount
    | DecideDiscount
    | SubmitContract
    | DecideContract
    | RecordFeedback  # after-sales commands go to the won deal's relationship
    | OpenRenewal
)
FEEDBACK_CHANCE = 0.7  # share of revisits the customer answers


@dataclass(frozen=True)
class Rep:
    name: str
    pace: float  # multiplies every stage duration
    slow_stage: Stage | None = None  # the stage where this rep loses time (004's "小A")


TEAM = (
    Rep("an.li", 0.8),
    Rep("bo.wang", 0.95),
    Rep("chen.zhao", 1.0),
    Rep("dai.liu", 1.05),
    Rep("fang.xu", 0.9),
    Rep("xiao.a", 1.0, slow_stage=Stage.NEEDS_ANALYSIS),
)

# Mean days spent in each stage before moving on, per pipeline (services deals run longer).
STAGE_DAYS = {
    "software": {
        "identify": 3,
        "contact": 6,
        "needs_analysis": 10,
        "proposal": 8,
        "negotiation": 12,
        "deal": 5,
    },
    "services": {
        "identify": 4,
        "contact": 8,
        "needs_analysis": 16,
        "proposal": 12,
        "negotiation": 18,
        "deal": 7,
    },
}
LOSS_CHANCE = {
    "identify": 0.10,
    "contact": 0.12,
    "needs_analysis": 0.12,
    "proposal": 0.14,
    "negotiation": 0.12,
}
REOPEN_CHANCE = 0.25
AMOUNT_RANGE = {"software": (50_000, 500_000), "services": (120_000, 1_200_000)}
COMPANIES = (
    "Acme",
    "Huaxin",
    "Blue Ocean",
    "Jinhai",
    "Northwind",
    "Tianyi",
    "Redwood",
    "Kunlun",
    "Pearl",
    "Zenith",
)
SOURCES = ("trade show", "website", "referral", "cold call", "partner")


@dataclass(frozen=True)
class PlannedMove:
    day: float  # days since the start of the simulation
    opportunity_id: str
    command: Command


def _facts(catalog: PipelineCatalog, pipeline: str, stage: Stage, rng: random.Random) -> dict[str, str]:
    return {c: _fact(c, rng.randint(1, 99)) for c in catalog.get(pipeline).stage(stage).exit_criteria}


def _fact(criterion: str, n: int) -> str:
    """A made-up fact; the expected close date a real date (the rules refuse any other), n weeks on."""
    if criterion == "expected_close_date":
        return (date.today() + timedelta(weeks=n)).isoformat()
    return f"{criterion.replace('_', ' ')} #{n}"


def _duration(rng: random.Random, rep: Rep, pipeline: str, stage: Stage) -> float:
    mean = STAGE_DAYS[pipeline][stage.value] * rep.pace * (2.5 if stage == rep.slow_stage else 1.0)
    # log-normal around the mean; at least a few hours so one deal's moves never share an hour
    return max(0.2, mean * math.exp(rng.gauss(-0.08, 0.4)))


DISCOUNTS = (3, 4, 5, 8, 10, 12, 14, 18, 22, 25)
DISCOUNT_CHANCE = 0.55
NOBODY_ANSWERS, REJECTED = 0.15, 0.12  # of requests that need an approver
BAD_CONTRACT, LEGAL_SILENT = 0.12, 0.08


def _negotiation(
    pipeline: Pipeline, oid: str, owner: str, amount: Decimal, day: float, rng: random.Random
) -> tuple[list[PlannedMove], float]:
    """The discount request and decisions, then the contract review, that precede closing.

    Returns the moves and the day the last of them happens.
    """
    policy, contract_policy = pipeline.approvals, pipeline.contract
    assert policy is not None
    assert contract_policy is not None
    moves: list[PlannedMove] = []

    def at(when: float, cmd: Command) -> None:
        moves.append(PlannedMove(_to_the_minute(when), oid, cmd))

    approved = Decimal(0)
    if rng.random() < DISCOUNT_CHANCE:
        pct = Decimal(rng.choice(DISCOUNTS))
        try:
            level = check_request(policy, pct, amount)
        except RuleViolation:
            level, pct = -1, Decimal(0)  # beyond policy: the rep does not even ask
        if pct:
            day += 1
            at(day, RequestDiscount(discount=pct, comment="customer asks for a better price"))
        if level is None:
            approved = pct
        elif level >= 0:
            capable = [n for n in policy.group(level, owner) if policy.approver(n).limit >= pct]
            fate = rng.random()
            if fate < NOBODY_ANSWERS or not capable:  # the timer escalates it; the next level decides
                nxt = policy.next_level(level, pct, amount)
                deciders = (
                    [n for n in policy.group(nxt, owner) if policy.approver(n).limit >= pct] if nxt else []
                )
                day += policy.timeout_hours / 24 + 0.5
                if deciders:
                    at(
                        day,
                        DecideDiscount(
                            approver=deciders[0], approve=True, comment="approved after escalation"
                        ),
                    )
                    approved = pct
            elif fate < NOBODY_ANSWERS + REJECTED:
                day += 0.5
                at(day, DecideDiscount(approver=capable[0], approve=False, comment="margin too thin"))
            else:
                voters = capable if policy.levels[level].mode == "all" else capable[:1]
                for name in voters:
                    day += 0.3
                    at(day, DecideDiscount(approver=name, approve=True, comment="fine"))
                approved = pct

    def draft(n: int, payment_days: int) -> SubmitContract:
        return SubmitContract(
            contract=Contract(
                contract_id=f"{oid}-c{n}",
                total=expected_total(amount, approved),
                discount=approved,
                payment_terms_days=payment_days,
                liability_cap=amount,
            )
        )

    day += 0.5
    if rng.random() < BAD_CONTRACT:  # payment terms beyond policy: the clause check catches it
        at(day, draft(1, contract_policy.max_payment_days + 30))
        day += 1
    at(day, draft(2, 30))
    if rng.random() < LEGAL_SILENT:  # legal does not answer: the lead is asked and signs
        day += contract_policy.legal_timeout_hours / 24 + 0.5
        at(day, DecideContract(by="qiang.he", comment="signed after escalation"))
    else:
        day += 1
        at(day, DecideContract(by="lin.ma", comment="clauses fine"))
    return moves, day


def _to_the_minute(day: float) -> float:
    """Round to the minute: the driver advances the clock to each distinct minute once.

    Not coarser: moves on an hour grid land exactly on deadlines (SLAs are whole days, approval
    timeouts whole hours) more often than chance, and an update that reaches the time-skipping
    test server in the instant its timer fires can wedge that workflow for good (a test server
    fault; a real Temporal server rejects the stale workflow task and the worker retries)."""
    return math.floor(day * 1440) / 1440


def plan_team(
    catalog: PipelineCatalog,
    *,
    opportunities: int = 200,
    days: int = 120,
    seed: int = 7,
    prefix: str = "demo",
) -> list[PlannedMove]:
    rng = random.Random(seed)
    moves: list[PlannedMove] = []
    revisits: list[tuple[str, str, str, float]] = []  # won deals: id, owner, pipeline, day won
    for n in range(1, opportunities + 1):
        oid = f"{prefix}-{n:04d}"
        rep = TEAM[n % len(TEAM)]
        pipeline = "software" if rng.random() < 0.6 else "services"
        low, high = AMOUNT_RANGE[pipeline]
        amount = Decimal(rng.randrange(low, high, 1000))
        day = rng.uniform(0, days)
        moves.append(
            PlannedMove(
                _to_the_minute(day),
                oid,
                OpenOpportunity(
                    opportunity_id=oid,
                    pipeline=pipeline,
                    owner=rep.name,
                    company=f"{rng.choice(COMPANIES)} {n}",
                    contact_person=f"contact {n}",
                    source=rng.choice(SOURCES),
                    amount=amount,
                ),
            )
        )
        stage, reopened, entered, won_day = Stage.IDENTIFY, False, day, None
        while stage is not Stage.AFTER_SALES:
            day += _duration(rng, rep, pipeline, stage)
            if stage.is_open and rng.random() < LOSS_CHANCE[stage.value]:
                reason = rng.choice(list(LossReason))
                moves.append(
                    PlannedMove(_to_the_minute(day), oid, MarkLost(reason=reason, note=f"lost in {stage}"))
                )
                if reopened or rng.random() >= REOPEN_CHANCE:
                    break
                reopened = True
                day += rng.uniform(10, 40)
                moves.append(PlannedMove(_to_the_minute(day), oid, Reopen(note="customer came back")))
                entered = day
                continue
            nxt = STAGE_ORDER[stage.position + 1]
            if nxt is Stage.DEAL:  # approvals and contract review happen inside negotiation
                work, done = _negotiation(catalog.get(pipeline), oid, rep.name, amount, entered, rng)
                moves.extend(work)
                day = max(day, done + 0.5)
            if nxt is Stage.DEAL:
                won_day = day
            if nxt is Stage.NEGOTIATION:  # the quote is revised once the proposal is discussed
                amount = (amount * Decimal(rng.uniform(0.85, 1.05))).quantize(Decimal(1000))
            moves.append(
                PlannedMove(
                    _to_the_minute(day),
                    oid,
                    AdvanceStage(
                        to_stage=nxt,
                        facts=_facts(catalog, pipeline, stage, rng),
                        amount=amount if nxt is Stage.NEGOTIATION else None,
                    ),
                )
            )
            stage, entered = nxt, day
        if won_day is not None:
            revisits.append((oid, rep.name, pipeline, _to_the_minute(won_day)))
    end = max(m.day for m in moves)
    moves.extend(_after_sales(catalog, revisits, end, rng))
    moves.sort(key=lambda m: m.day)  # stable: one deal's moves keep their order
    return moves


def _after_sales(
    catalog: PipelineCatalog, won: list[tuple[str, str, str, float]], end: float, rng: random.Random
) -> list[PlannedMove]:
    """Feedback on most revisits that come due before the simulation ends, and one renewal."""
    moves: list[PlannedMove] = []
    renewed = False
    for oid, owner, pipeline, won_day in won:
        policy = catalog.get(pipeline).after_sales
        if policy is None:
            continue
        for number in range(1, 100):
            due = won_day + policy.days_after_win(number)
            answer = _to_the_minute(due + rng.uniform(0.5, 4))
            if answer > end:
                break
            if rng.random() >= FEEDBACK_CHANCE:
                continue  # this one will be missed
            score = rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 4, 6, 4])[0]
            moves.append(
                PlannedMove(answer, oid, RecordFeedback(score=score, comment=f"revisit {number}", by=owner))
            )
            if not renewed and number == 2 and score >= 4:  # a happy customer wants more
                amount = Decimal(rng.randrange(50_000, 300_000, 1000))
                moves.append(
                    PlannedMove(answer, oid, OpenRenewal(amount=amount, by=owner, note="more seats"))
                )
                renewed = True
    return moves
