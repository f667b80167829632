"""The stage log as a standard process-mining event log (pm4py, ProM, Disco, Celonis, ...).

One row per stage move of an opportunity: its entry of a stage (the activity is the stage's name;
a reopened deal enters the stage it was lost from again) or its loss (activity `lost`, with the
reason). Case = opportunity, resource = its owner. Read from the projector's read models
(rm_opportunities, rm_stage_visits, rm_losses: catch up first), case by case in the order of the
events that made each move.

- CSV: `case_id, activity, timestamp, resource, pipeline, reason`, timestamps in ISO 8601 with
  their UTC offset; pandas + `pm4py.format_dataframe(df, "case_id", "activity", "timestamp")`.
- XES 1.0 (IEEE 1849): `concept:name`, `time:timestamp`, `org:resource`, `lifecycle:transition`;
  `pm4py.read_xes` opens it as it is.
"""

import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import quoteattr

from psycopg import AsyncConnection

FORMATS = ("csv", "xes")
CSV_COLUMNS = ("case_id", "activity", "timestamp", "resource", "pipeline", "reason")

# Cases are chosen by their opening (pipeline, opened in the window); their moves follow in order.
_MOVES = """
WITH cases AS (
    SELECT opportunity_id, owner, pipeline FROM rm_opportunities
    WHERE (%(pipeline)s::text IS NULL OR pipeline = %(pipeline)s)
      AND (%(start)s::timestamptz IS NULL OR opened_at >= %(start)s)
      AND (%(end)s::timestamptz IS NULL OR opened_at < %(end)s)
), moves AS (
    SELECT opportunity_id, version, stage AS activity, entered_at AS at, NULL AS reason FROM rm_stage_visits
    UNION ALL
    SELECT opportunity_id, version, 'lost', lost_at, reason FROM rm_losses
)
SELECT m.opportunity_id, m.activity, m.at, c.owner, c.pipeline, m.reason
FROM moves m JOIN cases c USING (opportunity_id)
ORDER BY m.opportunity_id, m.version
"""


@dataclass(frozen=True)
class Move:
    case_id: str
    activity: str
    timestamp: datetime
    resource: str
    pipeline: str
    reason: str | None


async def stage_moves(
    conn: AsyncConnection[Any],
    pipeline: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> AsyncIterator[Move]:
    """Every stage move of the chosen opportunities, case by case, streamed (a server-side cursor),
    from the read models (catch the projector up first)."""
    params = {"pipeline": pipeline, "start": start, "end": end}
    async with conn.transaction(), conn.cursor(name="stage_log") as cur:
        await cur.execute(_MOVES, params)
        async for row in cur:
            yield Move(*row)


async def write_log(
    moves: AsyncIterator[Move], path: Path, fmt: str, on_progress: Callable[[int], None] = lambda n: None
) -> tuple[int, int]:
    """Write the log in `fmt` (csv or xes); return (cases, events)."""
    _check_format(fmt)
    counts = _Counts()
    with path.open("w", encoding="utf-8", newline="") as out:
        async for _ in _fill(moves, out, fmt, counts):
            if counts.events % 100_000 == 0:
                on_progress(counts.events)
    return counts.cases, counts.events


async def log_chunks(moves: AsyncIterator[Move], fmt: str, chunk_size: int = 64 * 1024) -> AsyncIterator[str]:
    """The log in `fmt` as pieces of text of about `chunk_size` characters: a download of any
    size streamed in constant memory."""
    _check_format(fmt)
    buffer = io.StringIO(newline="")
    async for _ in _fill(moves, buffer, fmt, _Counts()):
        if buffer.tell() >= chunk_size:
            yield _drain(buffer)
    yield _drain(buffer)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown event log format {fmt!r} (known: {', '.join(FORMATS)})")


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@dataclass
class _Counts:
    cases: int = 0
    events: int = 0


async def _fill(moves: AsyncIterator[Move], out: TextIO, fmt: str, counts: _Counts) -> AsyncIterator[None]:
    """Write each move to `out` (pausing after each), the case's frame around its moves."""
    writer = _CsvWriter(out) if fmt == "csv" else _XesWriter(out)
    current = None
    async for move in moves:
        if move.case_id != current:
            if current is not None:
                writer.end_case()
            writer.begin_case(move)
            counts.cases, current = counts.cases + 1, move.case_id
        writer.event(move)
        counts.events += 1
        yield
    if current is not None:
        writer.end_case()
    writer.close()


class _CsvWriter:
    def __init__(self, out: TextIO) -> None:
        self._csv = csv.writer(out)
        self._csv.writerow(CSV_COLUMNS)

    def begin_case(self, move: Move) -> None:
        pass

    def event(self, m: Move) -> None:
        self._csv.writerow(
            (m.case_id, m.activity, m.timestamp.isoformat(), m.resource, m.pipeline, m.reason or "")
        )

    def end_case(self) -> None:
        pass

    def close(self) -> None:
        pass


class _XesWriter:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<log xes.version="1.0" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">\n'
            '  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
            '  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
            '  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
            '  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
            '  <global scope="event">\n'
            '    <string key="concept:name" value="__INVALID__"/>\n'
            '    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>\n'
            "  </global>\n"
            '  <classifier name="Activity" keys="concept:name"/>\n'
            '  <string key="concept:name" value="dealflow stage log"/>\n'
        )

    def begin_case(self, move: Move) -> None:
        self._out.write(
            f'  <trace>\n    <string key="concept:name" value={quoteattr(move.case_id)}/>\n'
            f'    <string key="pipeline" value={quoteattr(move.pipeline)}/>\n'
        )

    def event(self, m: Move) -> None:
        reason = f'\n      <string key="reason" value={quoteattr(m.reason)}/>' if m.reason else ""
        self._out.write(
            "    <event>\n"
            f'      <string key="concept:name" value={quoteattr(m.activity)}/>\n'
            f'      <date key="time:timestamp" value="{m.timestamp.isoformat(timespec="milliseconds")}"/>\n'
            f'      <string key="org:resource" value={quoteattr(m.resource)}/>\n'
            f'      <string key="lifecycle:transition" value="complete"/>{reason}\n'
            "    </event>\n"
        )

    def end_case(self) -> None:
        self._out.write("  </trace>\n")

    def close(self) -> None:
        self._out.write("</log>\n")
