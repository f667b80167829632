"""A deal's timeline, rebuilt from its stored events (and its customer relationship's): one line
per event, saying what happened, when, and who did it, in words a sales team uses."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain import events as ev
from domain.event_envelope import Event

# The kind of each line: the page colours and filters by it.
KINDS = {
    "OpportunityOpened": "stage",
    "StageAdvanced": "stage",
    "OpportunityLost": "lost",
    "OpportunityReopened": "stage",
    "ContractSubmitted": "contract",
    "ContractChecked": "contract",
    "LegalReviewEscalated": "escalation",
    "LegalReviewExpired": "contract",
    "LegalDecided": "contract",
    "TouchLogged": "touch",
    "StallReminded": "reminder",
    "StallEscalated": "escalation",
    "DiscountEscalated": "escalation",
}


@dataclass(frozen=True)
class Line:
    at: datetime
    kind: str  # stage, lost, approval, contract, touch, reminder, escalation, after-sales
    title: str
    detail: str
    actor: str | None


def line(event: Event) -> Line:
    name = type(event).__name__
    kind = KINDS.get(name, "approval" if name.startswith("Discount") else "after-sales")
    title, detail = _describe(event)
    return Line(event.occurred_at, kind, title, detail, event.actor)


def timeline(events: Sequence[Event]) -> list[Line]:
    """Newest first. A move shows only the facts it added or changed (a client may send every
    fact again with each move)."""
    known: dict[str, str] = {}
    lines = []
    for event in sorted(events, key=lambda e: (e.occurred_at, e.version)):
        if isinstance(event, ev.StageAdvanced):
            new = {k: v for k, v in event.facts.items() if known.get(k) != v}
            known.update(event.facts)
            event = event.model_copy(update={"facts": new})
        elif isinstance(event, ev.OpportunityOpened):
            known.update(company=event.company, contact_person=event.contact_person, source=event.source)
        lines.append(line(event))
    return lines[::-1]


def _stage(stage: str) -> str:
    return stage.replace("_", " ")


def _facts(facts: dict[str, str]) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in facts.items())


def _describe(e: Event) -> tuple[str, str]:
    match e:
        case ev.OpportunityOpened():
            renewal = f" (renewal of {e.renewal_of})" if e.renewal_of else ""
            return f"Lead opened for {e.owner}{renewal}", f"{e.company}, {e.contact_person}, from {e.source}"
        case ev.StageAdvanced():
            amount = f"amount {e.amount:,}; " if e.amount is not None else ""
            return f"Moved to {_stage(e.to_stage)}", amount + _facts(e.facts)
        case ev.OpportunityLost():
            return f"Lost in {_stage(e.stage)}: {e.reason.replace('_', ' ')}", e.note
        case ev.OpportunityReopened():
            return f"Reopened into {_stage(e.stage)}", ""
        case ev.DiscountRequested():
            who = ", ".join(e.approvers) or "the owner alone"
            return (
                f"Discount of {e.discount}% requested",
                f"level {e.level_name}; may decide: {who}. {e.comment}",
            )
        case ev.DiscountVoted():
            verdict = "approved" if e.approve else "rejected"
            return f"{e.approver} {verdict} ({e.level_name})", e.comment
        case ev.DiscountApproved():
            return f"Discount of {e.discount}% approved", ", ".join(e.approvers)
        case ev.DiscountRejected():
            return "Discount rejected", f"by {e.approver}. {e.comment}"
        case ev.DiscountEscalated():
            return f"Discount escalated to {e.level_name}", "nobody decided in time"
        case ev.DiscountExpired():
            return "Discount request expired", f"at level {e.level_name}"
        case ev.DiscountDecisionRefused():
            return f"A decision by {e.approver} was refused", f"{e.message} ({e.rule})"
        case ev.ContractSubmitted():
            c = e.contract
            return (
                f"Contract {c.contract_id} submitted",
                f"total {c.total:,}, discount {c.discount}%, pay in {c.payment_terms_days} days",
            )
        case ev.ContractChecked():
            failed = "; ".join(f"{f.check}: {f.detail}" for f in e.failures)
            return ("Clause checks failed", failed) if e.failures else ("Clause checks passed", "")
        case ev.LegalReviewEscalated():
            return "Legal review escalated", "to the legal lead"
        case ev.LegalReviewExpired():
            return "Legal review expired", ""
        case ev.LegalDecided():
            return f"Legal {'signed off' if e.approve else 'rejected'} ({e.by})", e.comment
        case ev.TouchLogged():
            return f"{e.kind.capitalize()} by {e.by}", e.note
        case ev.StallReminded():
            return f"Reminder to {e.recipient}", f"idle {e.idle_days:.0f} days in {_stage(e.stage)}"
        case ev.StallEscalated():
            return f"Escalated to {e.recipient}", f"idle {e.idle_days:.0f} days in {_stage(e.stage)}"
        case ev.AfterSalesStarted():
            return "Won: after-sales begins", f"customer {e.customer}, amount {e.amount:,}"
        case ev.RevisitDue():
            return f"Revisit {e.number} due", f"for {e.owner}"
        case ev.RevisitMissed():
            return f"Revisit {e.number} missed", "no feedback before the next one"
        case ev.FeedbackRecorded():
            return f"Feedback on revisit {e.number}: {e.score}/5", f"{e.comment} ({e.by})"
        case ev.RenewalOpened():
            return f"Renewal {e.renewal_id} opened", f"amount {e.amount:,}. {e.note}"
        case ev.RelationshipClosed():
            return "Relationship closed", f"{e.reason} ({e.by})"
    return type(e).__name__, ""
