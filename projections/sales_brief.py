"""The weekly or monthly sales brief (销售简报, design.md §2), from the events alone.

For a period: opportunities opened, deals won (count and amount), deals lost (by reason), new
customers (companies whose first won deal falls in the period), after-sales revisits and the mean
feedback score, each for the team and per rep. Compiled briefs are kept in `sales_briefs`, one per
period and pipeline, so that what the managers were sent can be printed again as it was.
"""

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from psycopg import AsyncConnection

from domain.sales_brief import RepFigures, SalesBrief

ALL_PIPELINES = "*"  # the key of a brief over every pipeline

_BRIEF = """
WITH deals AS (
    SELECT opportunity_id, payload->>'owner' AS owner, payload->>'company' AS company,
           payload->>'pipeline' AS pipeline
    FROM events
    WHERE type = 'OpportunityOpened' AND occurred_at < %(end)s
      AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
), wins AS (
    SELECT e.opportunity_id, e.occurred_at,
           (SELECT (a.payload->>'amount')::numeric FROM events a
             WHERE a.opportunity_id = e.opportunity_id AND a.version <= e.version
               AND a.payload->>'amount' IS NOT NULL
             ORDER BY a.version DESC LIMIT 1) AS amount
    FROM events e JOIN deals USING (opportunity_id)
    WHERE e.type = 'StageAdvanced' AND e.payload->>'to_stage' = 'deal' AND e.occurred_at < %(end)s
), first_wins AS (
    SELECT company, min(w.occurred_at) AS first_won_at FROM wins w JOIN deals USING (opportunity_id)
    GROUP BY company
), relationships AS (
    SELECT opportunity_id AS stream, payload->>'owner' AS owner
    FROM events
    WHERE type = 'AfterSalesStarted'
      AND (%(pipeline)s::text IS NULL OR payload->>'pipeline' = %(pipeline)s)
)
SELECT 'opened' AS kind, d.owner, NULL AS reason, count(*) AS n, NULL::numeric AS total
FROM events e JOIN deals d USING (opportunity_id)
WHERE e.type = 'OpportunityOpened' AND e.occurred_at >= %(start)s
GROUP BY d.owner
UNION ALL
SELECT 'won', d.owner, NULL, count(*), sum(w.amount)
FROM wins w JOIN deals d USING (opportunity_id)
WHERE w.occurred_at >= %(start)s
GROUP BY d.owner
UNION ALL
SELECT 'lost', d.owner, e.payload->>'reason', count(*), NULL
FROM events e JOIN deals d USING (opportunity_id)
WHERE e.type = 'OpportunityLost' AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
GROUP BY d.owner, e.payload->>'reason'
UNION ALL
SELECT 'new_customer', min(d.owner), f.company, 1, NULL
FROM first_wins f JOIN deals d USING (company)
WHERE f.first_won_at >= %(start)s
GROUP BY f.company
UNION ALL
SELECT CASE e.type WHEN 'RevisitDue' THEN 'revisit' WHEN 'RevisitMissed' THEN 'missed' ELSE 'feedback' END,
       r.owner, NULL, count(*), sum((e.payload->>'score')::numeric)
FROM events e JOIN relationships r ON r.stream = e.opportunity_id
WHERE e.type IN ('RevisitDue', 'RevisitMissed', 'FeedbackRecorded')
  AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
GROUP BY 1, r.owner
"""


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def compile_brief(
    conn: AsyncConnection[Any], period: str, start: date, end: date, pipeline: str | None = None
) -> SalesBrief:
    params = {"start": _midnight(start), "end": _midnight(end), "pipeline": pipeline}
    cur = await conn.execute(_BRIEF, params)
    per_rep: dict[str, RepFigures] = defaultdict(RepFigures)
    lost_by_reason: dict[str, int] = defaultdict(int)
    customers: list[str] = []
    for kind, owner, reason, n, total in await cur.fetchall():
        rep = per_rep[owner]
        match kind:
            case "opened":
                rep.opened += n
            case "won":
                rep.won, rep.won_amount = rep.won + n, rep.won_amount + (total or 0)
            case "lost":
                rep.lost += n
                lost_by_reason[reason] += n
            case "new_customer":
                rep.new_customers += n
                customers.append(reason)
            case "revisit":
                rep.revisits += n
            case "missed":
                rep.revisits_missed += n
            case "feedback":
                rep.feedback, rep.feedback_score_sum = (
                    rep.feedback + n,
                    rep.feedback_score_sum + int(total or 0),
                )
    team = RepFigures()
    for rep in per_rep.values():
        for name in RepFigures.model_fields:
            setattr(team, name, getattr(team, name) + getattr(rep, name))
    return SalesBrief(
        period=period,
        start=start,
        end=end,
        pipeline=pipeline,
        team=team,
        per_rep=dict(sorted(per_rep.items())),
        lost_by_reason=dict(sorted(lost_by_reason.items())),
        new_customers=sorted(customers),
    )


async def save_brief(conn: AsyncConnection[Any], brief: SalesBrief) -> None:
    """Keep the brief; compiling the same period again replaces it (a rerun after late events)."""
    await conn.execute(
        "INSERT INTO sales_briefs (period, period_start, pipeline, body) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (period, period_start, pipeline) DO UPDATE"
        " SET body = excluded.body, compiled_at = clock_timestamp()",
        (brief.period, brief.start, brief.pipeline or ALL_PIPELINES, brief.model_dump_json()),
    )


async def stored_briefs(
    conn: AsyncConnection[Any],
    period: str,
    pipeline: str | None = None,
    start: date | None = None,
    limit: int = 1,
) -> list[SalesBrief]:
    """The latest stored briefs (or the one starting on `start`), newest first."""
    cur = await conn.execute(
        "SELECT body, compiled_at FROM sales_briefs WHERE period = %s AND pipeline = %s"
        " AND (%s::date IS NULL OR period_start = %s) ORDER BY period_start DESC LIMIT %s",
        (period, pipeline or ALL_PIPELINES, start, start, limit),
    )
    briefs = []
    for body, compiled_at in await cur.fetchall():
        data = body if isinstance(body, dict) else json.loads(body)
        briefs.append(SalesBrief.model_validate({**data, "compiled_at": compiled_at}))
    return briefs
