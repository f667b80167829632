"""The pipeline board: every open deal in its current stage (company, amount, owner, time in the
stage, stalled by the stage's SLA), and the money open in each stage as of a date.

Reads the projector's read models (rm_stage_visits, rm_opportunities, rm_amounts, rm_activity):
catch up first. A column lists its newest cards (`per_stage`) and counts them all.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import Stage

BOARD_STAGES = tuple(s.value for s in Stage if s is not Stage.AFTER_SALES)

# The open visits (exited_at IS NULL: deals neither moved on nor lost), newest first per stage.
_CARDS = """
WITH open_visits AS (
    SELECT opportunity_id, pipeline, owner, stage, entered_at,
           row_number() OVER (PARTITION BY stage ORDER BY entered_at DESC, opportunity_id) AS n,
           count(*) OVER (PARTITION BY stage) AS total
    FROM rm_stage_visits
    WHERE exited_at IS NULL AND stage = ANY(%(stages)s)
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
      AND (%(owner)s::text IS NULL OR owner = %(owner)s)
)
SELECT v.opportunity_id, v.pipeline, v.owner, v.stage, v.entered_at, v.total, o.company,
       (SELECT amount FROM rm_amounts a WHERE a.opportunity_id = v.opportunity_id
        ORDER BY version DESC LIMIT 1),
       (SELECT max(at) FROM rm_activity a WHERE a.opportunity_id = v.opportunity_id)
FROM open_visits v JOIN rm_opportunities o USING (opportunity_id)
WHERE v.n <= %(per_stage)s
ORDER BY v.stage, v.entered_at DESC
"""

# Open at as_of: a visit entered by then and not ended by then (two index ranges, as the forecast).
_OPEN_MONEY = """
WITH open_visits AS (
    SELECT opportunity_id, stage FROM rm_stage_visits
    WHERE exited_at IS NULL AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
    UNION ALL
    SELECT opportunity_id, stage FROM rm_stage_visits
    WHERE exited_at > %(as_of)s AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(as_of)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
)
SELECT v.stage, count(*), coalesce(sum(a.amount), 0)
FROM open_visits v
LEFT JOIN LATERAL (
    SELECT amount FROM rm_amounts a WHERE a.opportunity_id = v.opportunity_id AND a.since <= %(as_of)s
    ORDER BY a.since DESC, a.version DESC LIMIT 1
) a ON true
GROUP BY v.stage
"""


@dataclass(frozen=True)
class Card:
    opportunity_id: str
    pipeline: str
    owner: str
    stage: str
    company: str
    amount: Decimal
    entered_at: datetime
    last_activity_at: datetime
    sla_days: int | None
    stalled: bool


@dataclass(frozen=True)
class Column:
    stage: str
    total: int  # every open deal in the stage; `cards` holds the newest of them
    cards: list[Card]


async def board(
    conn: AsyncConnection[Any],
    catalog: PipelineCatalog,
    now: datetime,
    *,
    pipeline: str | None = None,
    owner: str | None = None,
    per_stage: int = 40,
    stages: Sequence[str] = BOARD_STAGES,
) -> list[Column]:
    params = {"stages": list(stages), "pipeline": pipeline, "owner": owner, "per_stage": per_stage}
    cur = await conn.execute(_CARDS, params)
    columns = {s: Column(s, 0, []) for s in stages}
    for oid, pid, who, stage, entered, total, company, amount, active in await cur.fetchall():
        found = catalog.pipelines.get(str(pid))
        sla = found.stage(Stage(stage)).sla_days if found else None
        last = max(entered, active) if active else entered
        idle = (now - last) / timedelta(days=1)
        stalled = sla is not None and Stage(stage).is_open and idle > sla
        card = Card(
            str(oid),
            str(pid),
            str(who),
            str(stage),
            str(company),
            amount or Decimal(0),
            entered,
            last,
            sla,
            stalled,
        )
        column = columns[str(stage)]
        columns[str(stage)] = Column(column.stage, int(total), [*column.cards, card])
    return list(columns.values())


async def open_money(
    conn: AsyncConnection[Any], as_of: datetime, pipeline: str | None = None
) -> dict[str, tuple[int, Decimal]]:
    """Per open stage: how many deals were in it at `as_of`, and their amounts then."""
    cur = await conn.execute(_OPEN_MONEY, {"as_of": as_of, "pipeline": pipeline})
    return {str(stage): (int(n), Decimal(total)) for stage, n, total in await cur.fetchall()}
