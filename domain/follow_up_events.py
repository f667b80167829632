"""Follow-up: activities that restart a deal's idle clock, and the nagging when it runs out."""

from typing import Literal

from domain.event_envelope import Event
from domain.stages import Stage


class TouchLogged(Event):
    type: Literal["TouchLogged"] = "TouchLogged"
    stage: Stage
    kind: str
    by: str
    note: str = ""


class StallReminded(Event):
    """The deal sat idle past its stage SLA: the owner was reminded."""

    type: Literal["StallReminded"] = "StallReminded"
    stage: Stage
    idle_days: float
    recipient: str


class StallEscalated(Event):
    """Still idle past the second bound: the owner's manager was told."""

    type: Literal["StallEscalated"] = "StallEscalated"
    stage: Stage
    idle_days: float
    recipient: str
    owner: str


# Events that record the engine nagging, not work on the deal: they do not restart the idle clock.
NAGS = ("StallReminded", "StallEscalated")
# Events that are no work on the deal either: the nags, and a decision the rules turned away.
NOT_WORK = (*NAGS, "DiscountDecisionRefused")
