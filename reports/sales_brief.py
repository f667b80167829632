"""The weekly or monthly sales brief (销售简报, design.md §2), from the projector's read models
(catch up first).

For a period: opportunities opened, deals won (count and amount), deals lost (by reason), new
customers (companies whose first won deal falls in the period), after-sales revisits and the mean
feedback score, each for the team and per rep. Compiled briefs are kept in `sales_briefs`, one per
period and pipeline, so that what the managers were sent can be printed again as it was.
"""

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from psycopg import AsyncConnection

from domain.sales_brief import RepFigures, SalesBrief

# Each part an index range of the period. A won amount is the amount as of the winning move; a new
# customer is a company whose first won deal (in the pipeline) falls in the period, and counts for
# the rep who won it; revisits count for the relationship's owner.
_BRIEF = """
WITH wins AS (
    SELECT f.opportunity_id, f.owner, f.entered_at, f.version, o.company
    FROM rm_first_entries f JOIN rm_opportunities o USING (opportunity_id)
    WHERE f.stage = 'deal' AND f.entered_at >= %(start)s AND f.entered_at < %(end)s
      AND (%(pipeline)s::text IS NULL OR f.pipeline = %(pipeline)s)
)
SELECT 'opened' AS kind, owner, NULL AS reason, count(*) AS n, NULL::numeric AS total
FROM rm_opportunities
WHERE opened_at >= %(start)s AND opened_at < %(end)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
GROUP BY owner
UNION ALL
SELECT 'won', w.owner, NULL, count(*), sum(a.amount)
FROM wins w CROSS JOIN LATERAL (
    SELECT amount FROM rm_amounts a WHERE a.opportunity_id = w.opportunity_id AND a.version <= w.version
    ORDER BY a.version DESC LIMIT 1
) a
GROUP BY w.owner
UNION ALL
SELECT 'lost', owner, reason, count(*), NULL
FROM rm_losses
WHERE lost_at >= %(start)s AND lost_at < %(end)s AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
GROUP BY owner, reason
UNION ALL
(SELECT DISTINCT ON (w.company) 'new_customer', w.owner, w.company, 1, NULL
 FROM wins w
 WHERE NOT EXISTS (
    SELECT 1 FROM rm_opportunities o JOIN rm_first_entries f
      ON f.opportunity_id = o.opportunity_id AND f.stage = 'deal' AND f.entered_at < %(start)s
    WHERE o.company = w.company AND (%(pipeline)s::text IS NULL OR o.pipeline = %(pipeline)s))
 ORDER BY w.company, w.entered_at, w.opportunity_id)
UNION ALL
SELECT 'revisit', owner, NULL, count(*), NULL FROM rm_revisits
WHERE came_due_at >= %(start)s AND came_due_at < %(end)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
GROUP BY owner
UNION ALL
SELECT 'missed', owner, NULL, count(*), NULL FROM rm_revisits
WHERE missed_at >= %(start)s AND missed_at < %(end)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
GROUP BY owner
UNION ALL
SELECT 'feedback', owner, NULL, count(*), sum(score) FROM rm_revisits
WHERE answered_at >= %(start)s AND answered_at < %(end)s
  AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
GROUP BY owner
"""


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


async def compile_brief(
    conn: AsyncConnection[Any], period: str, start: date, end: date, pipeline: str | None = None
) -> SalesBrief:
    """The brief of [start, end) (days, UTC), from the read models (catch the projector up first)."""
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
