"""Approval metrics from the event store: how long each level takes to decide a discount, how often
requests escalate or expire, and how much discount each rep ends up granting against the team.

Periods work as in `cycle_times`: a decision counts in the period it was made, a request in the
period it was made, and only events on or before `as_of` are read.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from reports.period import Period

_SCOPE = """
WITH opened AS (
    SELECT stream_id, payload->>'owner' AS owner
    FROM events
    WHERE type = 'OpportunityOpened' AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
), d AS (
    SELECT e.stream_id, e.version, e.type, e.occurred_at, e.payload, o.owner
    FROM events e JOIN opened o USING (stream_id)
    WHERE e.type LIKE 'Discount%%' AND e.occurred_at <= %(as_of)s
)
"""

_DECISION_TIMES = (
    _SCOPE
    + """
, level_start AS (
    SELECT payload->>'request_id' AS rid, payload->>'level_name' AS level, occurred_at AS started
    FROM d
    WHERE (type = 'DiscountRequested' AND payload->'level' <> 'null'::jsonb) OR type = 'DiscountEscalated'
), decided AS (
    SELECT d.payload->>'level_name' AS level, extract(epoch FROM d.occurred_at - s.started) / 3600 AS hours
    FROM d JOIN level_start s ON s.rid = d.payload->>'request_id' AND s.level = d.payload->>'level_name'
    WHERE d.type IN ('DiscountApproved', 'DiscountRejected') AND d.payload->>'level_name' <> 'owner'
      AND d.occurred_at >= %(start)s AND d.occurred_at < %(end)s
)
SELECT level, count(*), avg(hours), percentile_cont(0.5) WITHIN GROUP (ORDER BY hours)
FROM decided GROUP BY level ORDER BY level
"""
)

_REQUEST_OUTCOMES = (
    _SCOPE
    + """
, reqs AS (
    SELECT payload->>'request_id' AS rid FROM d
    WHERE type = 'DiscountRequested' AND payload->'level' <> 'null'::jsonb
      AND occurred_at >= %(start)s AND occurred_at < %(end)s
)
SELECT count(*),
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM d WHERE d.type = 'DiscountEscalated'
                                      AND d.payload->>'request_id' = reqs.rid)),
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM d WHERE d.type = 'DiscountExpired'
                                      AND d.payload->>'request_id' = reqs.rid)),
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM d WHERE d.type = 'DiscountRejected'
                                      AND d.payload->>'request_id' = reqs.rid))
FROM reqs
"""
)

_GRANTED = (
    _SCOPE
    + """
, last_grant AS (
    SELECT DISTINCT ON (stream_id) stream_id, owner, (payload->>'discount')::numeric AS pct
    FROM d WHERE type = 'DiscountApproved' AND occurred_at >= %(start)s AND occurred_at < %(end)s
    ORDER BY stream_id, version DESC
)
SELECT owner, count(*), avg(pct)::float8 FROM last_grant GROUP BY GROUPING SETS ((owner), ())
"""
)


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
    params = {"start": period.start, "end": period.end, "as_of": period.as_of, "pipeline": pipeline}
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
