"""The sales brief (销售简报, design.md §2): what it holds and which days a period covers."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel


class RepFigures(BaseModel):
    opened: int = 0
    won: int = 0
    won_amount: Decimal = Decimal(0)
    lost: int = 0
    new_customers: int = 0
    revisits: int = 0
    revisits_missed: int = 0
    feedback: int = 0
    feedback_score_sum: int = 0

    @property
    def mean_feedback(self) -> float | None:
        return self.feedback_score_sum / self.feedback if self.feedback else None


class SalesBrief(BaseModel):
    period: str  # "week" or "month"
    start: date
    end: date  # exclusive
    pipeline: str | None
    team: RepFigures
    per_rep: dict[str, RepFigures]
    lost_by_reason: dict[str, int]
    new_customers: list[str]
    compiled_at: datetime | None = None


def period_bounds(period: str, start: date | None, now: datetime) -> tuple[date, date]:
    """The period starting on `start`, or the last full one before `now` (weeks start on Monday)."""
    if period == "week":
        first = start or (now.date() - timedelta(days=now.weekday() + 7))
        if first.weekday() != 0:
            raise ValueError(f"a week starts on a Monday; {first} is a {first:%A}")
        return first, first + timedelta(days=7)
    if period == "month":
        if start is None:
            this_month = now.date().replace(day=1)
            start = (this_month - timedelta(days=1)).replace(day=1)
        if start.day != 1:
            raise ValueError(f"a month starts on the 1st; got {start}")
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return start, end
    raise ValueError(f"period is 'week' or 'month', not {period!r}")
