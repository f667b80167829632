"""Calendar months (UTC) of a period, for the reports that go month by month (trend, backtest)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from reports.period import Period

MAX_MONTHS = 120  # ten years: each month is a few queries


@dataclass(frozen=True)
class Month:
    start: datetime
    end: datetime  # exclusive: the next month's start

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def months(period: Period) -> list[Month]:
    """The calendar months that begin in [start, end) and have begun by as_of, at most MAX_MONTHS
    (the latest ones)."""
    first = month_start(period.start)
    if first < period.start:
        first = next_month(first)
    found: list[Month] = []
    at = first
    while at < period.end and at <= period.as_of:
        found.append(Month(at, next_month(at)))
        at = next_month(at)
    return found[-MAX_MONTHS:]
