"""`--json`: every command's output the same way (app/json_shapes.py, which the HTTP API shares).
Amounts are decimal strings, datetimes RFC 3339 in UTC with `Z`, dates ISO; dataclasses and models
become objects."""

from typing import Any

from app.json_shapes import dumps, reconciled, sales_report, stalled

__all__ = ["dumps", "print_json", "reconciled", "sales_report", "stalled"]


def print_json(value: Any) -> None:
    print(dumps(value))  # plain print: rich would wrap long strings and read brackets as markup
