"""The window every report is asked for: what happened in [start, end), as known at `as_of`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive
    as_of: datetime

    @classmethod
    def until(cls, start: datetime, end: datetime) -> "Period":
        return cls(start=start, end=end, as_of=end)

    def params(self, pipeline: str | None = None, **more: Any) -> dict[str, Any]:
        """The query parameters the period's reports name (`%(start)s`, `%(end)s`, `%(as_of)s`,
        `%(pipeline)s`: None for every pipeline), and any more a query needs."""
        return {"start": self.start, "end": self.end, "as_of": self.as_of, "pipeline": pipeline, **more}
