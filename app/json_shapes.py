"""Results as JSON, one way for every front end (the CLI's `--json`, the HTTP API): amounts are
decimal strings (as pydantic dumps a Decimal), datetimes RFC 3339 in UTC with `Z`, dates ISO;
dataclasses and models become objects. The reports get their derived figures here too."""

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from app.reconcile import StreamCheck
from app.reports import SalesReport, StalledReport
from reports.cycle_times import laggards

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def plain(value: Any) -> Any:
    """A result as JSON-ready Python (dicts, lists, strings, numbers): a model, a dataclass, or
    lists and dicts of them, every datetime in UTC."""
    return to_jsonable_python(_in_utc(_ANY.dump_python(value)))  # datetimes stay datetimes until here


def dumps(value: Any, indent: int | None = 2) -> str:
    """JSON text of a result (see `plain`)."""
    return json.dumps(plain(value), indent=indent, ensure_ascii=False)


def _in_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, dict):
        return {k: _in_utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_in_utc(v) for v in value]
    return value


def sales_report(report: SalesReport) -> dict[str, Any]:
    """The report's parts side by side, with the figures derived from them (rates, laggards)."""
    cycles, metrics, approvals = report.cycle_times, report.pipeline, report.approvals
    return {
        **dataclasses.asdict(cycles),
        "laggards": [dataclasses.asdict(lag) for lag in laggards(cycles)],
        # Built by hand: dataclasses.asdict would rebuild each Counter from its (key, count) pairs.
        "funnel": [{**dataclasses.asdict(s), "conversion": s.conversion} for s in metrics.funnel],
        "won": metrics.won,
        "lost": metrics.lost,
        "win_rate": metrics.win_rate,
        "lost_by_reason": dict(metrics.lost_by_reason),
        "lost_by_stage": dict(metrics.lost_by_stage),
        "open_by_stage": dict(metrics.open_by_stage),
        "forecast": metrics.forecast,
        "pipeline_value": metrics.pipeline_value,
        "currency": report.currency,
        "approvals": {**dataclasses.asdict(approvals), "escalation_rate": approvals.escalation_rate},
    }


def stalled(report: StalledReport) -> dict[str, Any]:
    return {"as_of": report.as_of, "stalled": report.stalled, "escalations": report.escalations}


def reconciled(checks: list[StreamCheck]) -> list[dict[str, Any]]:
    return [{**dataclasses.asdict(c), "ok": c.ok} for c in checks]
