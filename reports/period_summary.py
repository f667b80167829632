"""What the engine did in a period beside the stage moves: follow-up reminders and escalations,
contract clause checks that failed, and after-sales (relationships started, revisits due, missed
and answered, renewals opened), for the team, one pipeline or all.

Reads the projector's read models (rm_nags, rm_clause_checks, rm_relationships, rm_revisits,
rm_renewals): catch up first. Each count is an index range of the period.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from reports.period import Period


def _count(table: str, at: str, where: str = "TRUE") -> str:
    """How many rows of `table` happened (`at`) in [start, end), by as_of, in the pipeline (or all)."""
    return (
        f"(SELECT count(*) FROM {table} WHERE {where} AND {at} >= %(start)s AND {at} < %(end)s"
        f" AND {at} <= %(as_of)s AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s))"
    )


_COUNTS = "SELECT " + ", ".join(
    (
        _count("rm_nags", "at", "kind = 'reminded'"),
        _count("rm_nags", "at", "kind = 'escalated'"),
        _count("rm_clause_checks", "at", "failed <> '{}'"),
        _count("rm_relationships", "started_at"),
        _count("rm_revisits", "came_due_at"),
        _count("rm_revisits", "answered_at"),
        _count("rm_revisits", "missed_at"),
        _count("rm_renewals", "opened_at"),
    )
)


@dataclass(frozen=True)
class PeriodSummary:
    reminders: int  # owners reminded of a deal idle past its stage's SLA
    escalations: int  # managers told of a deal idle much longer
    failed_clause_checks: int  # contract clause checks that failed (the contract is redrafted)
    relationships_started: int  # deals won: customer relationships begun
    revisits_due: int
    feedback_recorded: int
    revisits_missed: int
    renewals_opened: int


async def period_summary(
    conn: AsyncConnection[Any], period: Period, pipeline: str | None = None
) -> PeriodSummary:
    """The counts of `period`, from the read models (catch the projector up first)."""
    params = period.params(pipeline)
    cur = await conn.execute(_COUNTS, params)
    row = await cur.fetchone()
    assert row is not None  # one row of scalar subqueries, always
    return PeriodSummary(*(int(n) for n in row))
