"""Follow-up timers: a deal idle in a stage past the stage's SLA reminds its owner; idle past a
second bound it escalates to the owner's manager (004: the director steps in when a rep spends too
long in a stage). Any move or logged activity starts the idle clock again.
"""

from datetime import datetime, timedelta

from domain.commands import LogTouch, sent_by
from domain.errors import RuleViolation
from domain.events import DomainEvent, EventMeta, StallEscalated, StallReminded, TouchLogged, envelope
from domain.follow_up_policy import FollowUpPolicy
from domain.inputs import LABEL, NOTE, check_person, clean_text
from domain.opportunity_state import OpportunityState
from domain.pipeline import Pipeline


def stall_deadline(state: OpportunityState, pipeline: Pipeline, policy: FollowUpPolicy) -> datetime | None:
    """When the idle deal next needs nagging, or None (no SLA, lost, won, or already escalated)."""
    sla = pipeline.stage(state.stage).sla_days
    if sla is None or state.lost is not None or not state.stage.is_open or state.stall_level >= 2:
        return None
    factor = 1.0 if state.stall_level == 0 else policy.escalate_after_factor
    return state.last_activity_at + timedelta(days=sla * factor)


def decide_stall(
    state: OpportunityState, pipeline: Pipeline, policy: FollowUpPolicy, meta: EventMeta
) -> list[DomainEvent]:
    due = stall_deadline(state, pipeline, policy)
    if due is None or meta.occurred_at < due:
        return []
    idle = round((meta.occurred_at - state.last_activity_at) / timedelta(days=1), 2)
    head = envelope(state.opportunity_id, state.version + 1, meta)
    if state.stall_level == 0:
        return [StallReminded(**head, stage=state.stage, idle_days=idle, recipient=state.owner)]
    manager = policy.manager_of(state.owner)
    return [StallEscalated(**head, stage=state.stage, idle_days=idle, recipient=manager, owner=state.owner)]


def decide_touch(state: OpportunityState, cmd: LogTouch, meta: EventMeta) -> list[DomainEvent]:
    meta = sent_by(cmd, meta)  # its events record who sent it
    kind = clean_text(cmd.kind, "kind", LABEL)
    if not kind or not cmd.by.strip():
        raise RuleViolation(
            "touch-recorded", "a logged activity needs a kind (call, visit, mail…) and who did it"
        )
    by, note = check_person(cmd.by, "by"), clean_text(cmd.note, "note", NOTE)
    head = envelope(state.opportunity_id, state.version + 1, meta)
    return [TouchLogged(**head, kind=kind, note=note, by=by, stage=state.stage)]
