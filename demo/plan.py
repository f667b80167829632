"""A seeded sales team's year, planned in advance: who opens which lead when, how long each stage
takes, where deals are lost and which lost ones come back. Pure: no Temporal, no database.

The driver (`demo.driver`) later plays these moves in time order against real workflows.
"""

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from domain.commands import AdvanceStage, MarkLost, OpenOpportunity, Reopen
from domain.pipeline import PipelineCatalog
from domain.stages import STAGE_ORDER, LossReason, Stage

Command = OpenOpportunity | AdvanceStage | MarkLost | Reopen


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
    return {
        c: f"{c.replace('_', ' ')} #{rng.randint(1, 99)}"
        for c in catalog.get(pipeline).stage(stage).exit_criteria
    }


def _duration(rng: random.Random, rep: Rep, pipeline: str, stage: Stage) -> float:
    mean = STAGE_DAYS[pipeline][stage.value] * rep.pace * (2.5 if stage == rep.slow_stage else 1.0)
    # log-normal around the mean; at least a few hours so one deal's moves never share an hour
    return max(0.2, mean * math.exp(rng.gauss(-0.08, 0.4)))


def _at_working_hour(day: float) -> float:
    """Round to the hour: the driver advances the clock to each distinct hour once."""
    return math.floor(day * 24) / 24


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
    for n in range(1, opportunities + 1):
        oid = f"{prefix}-{n:04d}"
        rep = TEAM[n % len(TEAM)]
        pipeline = "software" if rng.random() < 0.6 else "services"
        low, high = AMOUNT_RANGE[pipeline]
        amount = Decimal(rng.randrange(low, high, 1000))
        day = rng.uniform(0, days)
        moves.append(
            PlannedMove(
                _at_working_hour(day),
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
        stage, reopened = Stage.IDENTIFY, False
        while stage is not Stage.AFTER_SALES:
            day += _duration(rng, rep, pipeline, stage)
            if stage.is_open and rng.random() < LOSS_CHANCE[stage.value]:
                reason = rng.choice(list(LossReason))
                moves.append(
                    PlannedMove(_at_working_hour(day), oid, MarkLost(reason=reason, note=f"lost in {stage}"))
                )
                if reopened or rng.random() >= REOPEN_CHANCE:
                    break
                reopened = True
                day += rng.uniform(10, 40)
                moves.append(PlannedMove(_at_working_hour(day), oid, Reopen(note="customer came back")))
                continue
            nxt = STAGE_ORDER[stage.position + 1]
            if nxt is Stage.NEGOTIATION:  # the quote is revised once the proposal is discussed
                amount = (amount * Decimal(rng.uniform(0.85, 1.05))).quantize(Decimal(1000))
            moves.append(
                PlannedMove(
                    _at_working_hour(day),
                    oid,
                    AdvanceStage(
                        to_stage=nxt,
                        facts=_facts(catalog, pipeline, stage, rng),
                        amount=amount if nxt is Stage.NEGOTIATION else None,
                    ),
                )
            )
            stage = nxt
    moves.sort(key=lambda m: m.day)  # stable: one deal's moves keep their order
    return moves
