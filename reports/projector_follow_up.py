"""The follow-up read models: when each deal last saw work, the engine's nags, and clause checks.

- rm_activity       every event on a deal other than a stage move (those are rm_stage_visits'
                    entries) and a nag (reminders are not work): with the visits, the last
                    activity of a deal as of any date
- rm_nags           every reminder to an owner and escalation to a manager: stage, owner, recipient
- rm_clause_checks  every clause check of a contract, with the checks that failed (none: passed)

All three only ever gain rows: a batch COPYs them.
"""

from typing import Any

from psycopg import AsyncConnection

from domain.events import NAGS as NAG_EVENTS
from domain.events import NOT_WORK
from domain.opportunity_state import OPPORTUNITY
from reports import projector_fields as fields
from reports.projector_fields import StoredEvent, read
from reports.projector_stages import STAGE_MOVE_TYPES
from reports.projector_tables import Table, copy_rows, owners

# Work on a deal: every event of its stream but the stage moves (rm_stage_visits' entries) and what
# does not restart the idle clock: the engine's nags and refused decisions (domain.events.NOT_WORK).
# Derived from the domain's own fold, so an event type added there is counted as work without a
# list to keep in step here.
NAG_TYPES = frozenset(NAG_EVENTS)
ACTIVITY_TYPES = (
    frozenset(t.model_fields["type"].default for t in OPPORTUNITY.event_types())
    - frozenset(STAGE_MOVE_TYPES)
    - frozenset(NOT_WORK)
)
TYPES = ACTIVITY_TYPES | NAG_TYPES

ACTIVITY = Table.of("rm_activity", "opportunity_id version at", "opportunity_id version")
NAGS = Table.of(
    "rm_nags", "opportunity_id version at kind stage owner recipient pipeline", "opportunity_id version"
)
CLAUSE_CHECKS = Table.of(
    "rm_clause_checks",
    "opportunity_id version at contract_id failed pipeline owner",
    "opportunity_id version",
)
TABLES = (ACTIVITY, NAGS, CLAUSE_CHECKS)


def _nag(event: StoredEvent, pipeline: str) -> tuple[object, ...]:
    if event.type == "StallReminded":
        reminded = read(event, fields.StallReminded)  # the owner is the one reminded
        stage, owner, recipient = reminded["stage"], reminded["recipient"], reminded["recipient"]
        kind = "reminded"
    else:
        escalated = read(event, fields.StallEscalated)
        stage, owner, recipient = escalated["stage"], escalated["owner"], escalated["recipient"]
        kind = "escalated"
    return (event.stream_id, event.version, event.at, kind, stage, owner, recipient, pipeline)


async def project(conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
    deals = await owners(
        conn, {e.stream_id for e in events if e.type in NAG_TYPES or e.type == "ContractChecked"}
    )
    activity, nags, checks = [], [], []
    for event in events:
        if event.type in NAG_TYPES:
            nags.append(_nag(event, deals[event.stream_id][0]))
            continue
        activity.append((event.stream_id, event.version, event.at))
        if event.type == "ContractChecked":
            checked = read(event, fields.ContractChecked)
            failed = [f["check"] for f in checked.get("failures", [])]
            pipeline, owner = deals[event.stream_id]
            checks.append(
                (event.stream_id, event.version, event.at, checked["contract_id"], failed, pipeline, owner)
            )
    async with conn.cursor() as cur:
        await copy_rows(cur, ACTIVITY, activity)
        await copy_rows(cur, NAGS, nags)
        await copy_rows(cur, CLAUSE_CHECKS, checks)
