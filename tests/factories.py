"""Small builders shared by the tests."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from domain.commands import AdvanceStage, OpenOpportunity
from domain.events import EventMeta
from domain.stages import Stage

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
