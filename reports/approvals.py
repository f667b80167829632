"""Approval metrics: how long each level takes to decide a discount, how often requests escalate
or expire, and how much discount each rep ends up granting against the team.

Periods work as in `cycle_times`: a decision counts in the period it was made, a request in the
period it was made, and only what happened on or before `as_of` counts. Reads the projector's
read models (rm_discount_requests, rm_discount_levels): catch up first.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from reports.period import Period

# A level's decision time runs from when the request reached the level (requested there, or
# escalated to it) to the approval or rejection there; the owner's own grants wait for no one.
_DECISION_TIMES = """
SELECT level_name, count(*), avg(hours), percentile_cont(0.5) WITHIN GROUP (ORDER BY hours)
FROM (
    SELECT level_name, date_part('epoch', ended_at - started_at) / 3600 AS hours
    FROM rm_discount_levels
    WHERE ended_by IN ('approved', 'rejected')
      AND ended_at >= %(start)s AND ended_at < %(end)s AND ended_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
) decided
GROUP BY level_name ORDER BY level_name
"""

# Requests that needed an approver, made in the period; how they fared by as_of.
_REQUEST_OUTCOMES = """
SELECT count(*),
       count(*) FILTER (WHERE escalated_at <= %(as_of)s),
       count(*) FILTER (WHERE outcome = 'expired' AND decided_at <= %(as_of)s),
       count(*) FILTER (WHERE outcome = 'rejected' AND decided_at <= %(as_of)s)
FROM rm_discount_requests
WHERE level IS NOT NULL
  AND requested_at >= %(start)s AND requested_at < %(end)s AND requested_at <= %(as_of)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
"""

# The discount each deal ended up with: its last request approved in the period.
_GRANTED = """
WITH last_grant AS (
    SELECT DISTINCT ON (opportunity_id) opportunity_id, owner, discount
    FROM rm_discount_requests
    WHERE outcome = 'approved'
      AND decided_at >= %(start)s AND decided_at < %(end)s AND decided_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
    ORDER BY opportunity_id, version DESC
)
SELECT owner, count(*), avg(discount)::float8 FROM last_grant GROUP BY GROUPING SETS ((owner), ())
"""


@dataclass(frozen=True)
class LevelTimes:
    level: str
    decisions: int
    mean_hours: float
    median_hours: float


@dataclass(frozen=True)
class Granted:
    deals: int
    mean_discount: float


@dataclass(frozen=True)
class ApprovalReport:
    requests: int  # requests that needed an approver (not the owner's own)
    escalated: int
    expired: int
    rejected: int
    decision_times: list[LevelTimes]
    granted_team: Granted | None
    granted_by_rep: dict[str, Granted]

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.requests if self.requests else 0.0


async def approval_report(
    conn: AsyncConnection[Any], period: Period, pipeline: str | None = None
) -> ApprovalReport:
    """Discount approvals in `period`, from the read models (catch the projector up first)."""
    params = period.params(pipeline)
    cur = await conn.execute(_DECISION_TIMES, params)
    times = [
        LevelTimes(str(lvl), int(n), float(mean), float(med)) for lvl, n, mean, med in await cur.fetchall()
    ]
    cur = await conn.execute(_REQUEST_OUTCOMES, params)
    row = await cur.fetchone()
    requests, escalated, expired, rejected = (int(x) for x in row) if row else (0, 0, 0, 0)
    cur = await conn.execute(_GRANTED, params)
    team, reps = None, {}
    for owner, n, pct in await cur.fetchall():
        if not n:  # the grand total row exists even when nothing was granted
            continue
        granted = Granted(int(n), float(pct))
        if owner is None:
            team = granted
        else:
            reps[str(owner)] = granted
    return ApprovalReport(requests, escalated, expired, rejected, times, team, dict(sorted(reps.items())))
