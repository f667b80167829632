"""The refused decisions read model: discount decisions sent as signals (by producers that could not
wait for the answer) that the rules refused, so the approvals inbox can show each approver theirs.

- rm_refused_decisions  one row per DiscountDecisionRefused: deal, when, the approver it named,
                        approve or reject, the rule and its message, the discount request open
                        then (NULL: none was), the request id it was sent with and who sent it

It only ever gains rows: a batch COPYs them.
"""

from typing import Any

from psycopg import AsyncConnection

from reports import projector_fields as fields
from reports.projector_fields import StoredEvent, read
from reports.projector_tables import Table, copy_rows

TYPES = frozenset(("DiscountDecisionRefused",))

REFUSED = Table.of(
    "rm_refused_decisions",
    "opportunity_id version at approver approve rule message request_id decision_request_id actor",
    "opportunity_id version",
)
TABLES = (REFUSED,)


async def project(conn: AsyncConnection[Any], events: list[StoredEvent]) -> None:
    rows = []
    for event in events:
        refused = read(event, fields.DiscountDecisionRefused)
        rows.append(
            (
                event.stream_id,
                event.version,
                event.at,
                refused["approver"],
                refused["approve"],
                refused["rule"],
                refused["message"],
                refused.get("request_id"),
                refused["decision_request_id"],
                refused.get("actor"),
            )
        )
    async with conn.cursor() as cur:
        await copy_rows(cur, REFUSED, rows)
