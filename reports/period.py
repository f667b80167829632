"""The window every report is asked for: what happened in [start, end), as known at `as_of`."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    as_of: datetime

    @classmethod
    def until(cls, start: datetime, end: datetime) -> "Period":
        return cls(start=start, end=end, as_of=end)
