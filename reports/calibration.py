"""Calibration: how often deals that reached each stage were won, beside the win probability the
pipeline configures for that stage (the forecast's weight), for a period as of any date.

The closed deals of the period are the win rate's (reports/funnel.py): won = entered `deal` in
the period (by `as_of`); lost = lost in the period and still lost at `as_of`. For each stage S
before `deal`, per pipeline:

    empirical P(win | S) = closed deals that had entered S and were won / closed deals that had entered S

so `identify` (every deal enters it) gives the period's win rate. A deal counts once per stage
however often it entered it. Reads rm_first_entries and rm_losses: catch the projector up first.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from domain.pipeline import PipelineCatalog
from domain.stages import STAGE_ORDER, Stage
from reports.open_at import PIPELINE, in_period, no_jit
from reports.period import Period

OPEN_STAGES = tuple(s.value for s in STAGE_ORDER if s.is_open)

_REACHED = f"""
WITH closed AS (
    SELECT opportunity_id, true AS won FROM rm_first_entries
    WHERE stage = 'deal' AND {in_period("entered_at")} AND {PIPELINE}
    UNION ALL
    SELECT opportunity_id, false FROM rm_losses
    WHERE {in_period("lost_at")} AND (reopened_at IS NULL OR reopened_at > %(as_of)s) AND {PIPELINE}
)
SELECT f.pipeline, f.stage, count(*), count(*) FILTER (WHERE c.won)
FROM closed c JOIN rm_first_entries f USING (opportunity_id)
WHERE f.stage <> ALL(%(closed_stages)s) AND f.entered_at <= %(as_of)s
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class StageCalibration:
    stage: str
    closed: int  # closed deals of the period that had entered the stage
    won: int  # of them, won
    configured: float | None  # the pipeline's win probability for the stage (None: not configured)

    @property
    def empirical(self) -> float | None:
        return self.won / self.closed if self.closed else None

    @property
    def gap(self) -> float | None:
        """empirical - configured: positive when the pipeline's weight is too cautious."""
        e = self.empirical
        return None if e is None or self.configured is None else e - self.configured


@dataclass(frozen=True)
class Calibration:
    period: Period
    pipeline: str | None
    by_pipeline: dict[str, list[StageCalibration]]  # each pipeline's open stages, in order


async def calibration(
    conn: AsyncConnection[Any], catalog: PipelineCatalog, period: Period, pipeline: str | None = None
) -> Calibration:
    """The empirical win probability of each stage beside the configured one, per pipeline: every
    configured pipeline (or the one asked for), and any other the closed deals ran in."""
    params = period.params(pipeline, closed_stages=[s.value for s in STAGE_ORDER if not s.is_open])
    async with no_jit(conn):
        cur = await conn.execute(_REACHED, params)
        counts = {(str(p), str(s)): (int(n), int(won)) for p, s, n, won in await cur.fetchall()}
    ids = {pipeline} if pipeline else set(catalog.pipelines) | {p for p, _ in counts}
    result: dict[str, list[StageCalibration]] = {}
    for pid in sorted(ids):
        configured = catalog.pipelines.get(pid)
        result[pid] = [
            StageCalibration(
                stage,
                *counts.get((pid, stage), (0, 0)),
                configured.stage(Stage(stage)).win_probability if configured else None,
            )
            for stage in OPEN_STAGES
        ]
    return Calibration(period, pipeline, result)
