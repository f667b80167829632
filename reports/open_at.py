"""The SQL the analytics share: which opportunities are open at a moment, and an opportunity's
amount at a moment or at an event, all from the read models (rm_stage_visits, rm_amounts).

Open at T (as the forecast defines it, reports/funnel.py): a visit of a stage before `deal` entered
by T and not ended by T (a loss ends a visit; a reopen begins a new one). The two halves read two
small index ranges (visits still open; visits ended after T), not every visit. The caller's
parameters: %(at)s, and %(pipeline)s (NULL: every pipeline).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection

OPEN_VISITS = """
open_visits AS (
    SELECT opportunity_id, pipeline, owner, stage, entered_at FROM rm_stage_visits
    WHERE exited_at IS NULL AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(at)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
    UNION ALL
    SELECT opportunity_id, pipeline, owner, stage, entered_at FROM rm_stage_visits
    WHERE exited_at > %(at)s AND stage NOT IN ('deal', 'after_sales') AND entered_at <= %(at)s
      AND (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
)"""


def amount_at(oid: str, moment: str) -> str:
    """A LATERAL subquery (column `amount`): the amount of opportunity `oid` in force at `moment`
    (its lead's, or the last revised quote's by then)."""
    return (
        f"(SELECT amount FROM rm_amounts a WHERE a.opportunity_id = {oid} AND a.since <= {moment}"
        " ORDER BY a.version DESC LIMIT 1)"
    )


def amount_at_version(oid: str, version: str) -> str:
    """A LATERAL subquery (column `amount`): the amount of opportunity `oid` as the event of
    `version` left it (a won deal's amount at its win: the version that entered `deal`)."""
    return (
        f"(SELECT amount FROM rm_amounts a WHERE a.opportunity_id = {oid} AND a.version <= {version}"
        " ORDER BY a.version DESC LIMIT 1)"
    )


def in_period(column: str) -> str:
    """`column` falls in the period [%(start)s, %(end)s) and by %(as_of)s."""
    return f"{column} >= %(start)s AND {column} < %(end)s AND {column} <= %(as_of)s"


PIPELINE = "(%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)"


@asynccontextmanager
async def no_jit(conn: AsyncConnection[Any]) -> AsyncIterator[None]:
    """Run the queries inside without JIT compilation: the analytics' lateral lookups make the
    planner's estimates cross `jit_above_cost`, and compiling took 200 ms of a 290 ms backtest
    whose execution needs 70 ms (small bench history)."""
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        yield
