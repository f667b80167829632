"""The read side a front end shows a user: one opportunity, one relationship, opportunities by
stage/owner/pipeline (Temporal visibility), the approvals inbox, the configured pipelines."""

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel
from temporalio.client import RPCTimeoutOrCancelledError, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

from app.connections import Connections
from app.errors import BadInput
from app.faults import postgres_faults
from app.temporal_calls import unavailable
from domain.after_sales import RelationshipState
from domain.opportunity import OpportunityState
from domain.pipeline import Pipeline
from reports.pending_approvals import PendingApproval, RefusedDecision, pending_approvals, refused_decisions
from store.pipeline_versions import pipeline_version, pipeline_versions
from workflows import search_attributes as sa

# Characters that no quoting gets through the dev server's visibility store (SQLite): a value
# holding one is matched on its prefix there and exactly here.
_UNQUOTABLE = ('"', "\\")


class DealSummary(BaseModel):
    """One opportunity as visibility lists it (its search attributes)."""

    opportunity_id: str
    stage: str
    owner: str
    pipeline: str
    amount: Decimal
    running: bool


class PipelineVersionRow(BaseModel):
    """A pipeline version some deal used: its content hash, when first used, and its rules."""

    pipeline_id: str
    version: str  # sha256 of the canonical JSON
    first_seen: AwareDatetime
    current: bool  # what the configured pipeline file says today (new deals pin this one)
    pipeline: Pipeline


class Queries:
    def __init__(self, connections: Connections) -> None:
        self._c = connections

    async def show(self, opportunity_id: str) -> OpportunityState:
        return await (await self._c.deals()).show(opportunity_id)

    async def relationship(self, deal_id: str) -> RelationshipState:
        return await (await self._c.deals()).relationship(deal_id)

    def pipelines(self) -> dict[str, Pipeline]:
        return dict(self._c.catalog.pipelines)

    async def pipeline_versions(self, pipeline_id: str | None = None) -> list[PipelineVersionRow]:
        """Every stored pipeline version a deal ever used (of one pipeline, or all), oldest first."""
        today = {p.id: pipeline_version(p) for p in self._c.catalog.pipelines.values()}
        store = await self._c.store()
        async with postgres_faults(lambda: self._c.postgres_where):
            found = await pipeline_versions(store, pipeline_id)
        return [
            PipelineVersionRow(
                pipeline_id=v.pipeline_id,
                version=v.hash,
                first_seen=v.first_seen,
                current=today.get(v.pipeline_id) == v.hash,
                pipeline=v.pipeline,
            )
            for v in found
        ]

    async def pending_approvals(self, approver: str | None = None) -> list[PendingApproval]:
        """Discount requests waiting for a decision (all, or those `approver` may decide now)."""
        catalog = self._c.catalog  # routes requests stored before their events carried the routing
        async with self._c.read_models() as conn:
            return await pending_approvals(conn, approver, catalog)

    async def refused_decisions(
        self, approver: str | None = None, *, limit: int = 20
    ) -> list[RefusedDecision]:
        """The latest discount decisions sent as signals that the rules refused (those naming
        `approver`, if given), newest first: the other half of an approver's inbox."""
        if limit < 1:
            raise BadInput("the limit must be at least 1")
        async with self._c.read_models() as conn:
            return await refused_decisions(conn, approver, limit=limit)

    async def list(
        self, *, stage: str | None = None, owner: str | None = None, pipeline: str | None = None
    ) -> list[DealSummary]:
        """Opportunities through Temporal visibility, filtered by dealflow's search attributes."""
        filters: list[tuple[SearchAttributeKey[str], str]] = [
            (key, value)
            for key, value in ((sa.STAGE, stage), (sa.OWNER, owner), (sa.PIPELINE, pipeline))
            if value is not None
        ]
        clauses = ["WorkflowType = 'OpportunityWorkflow'"]
        for key, value in filters:
            if any(ch in value for ch in "\0\n\r"):
                raise BadInput(f"--{key.name.removeprefix('Deal').lower()}: no control characters, please")
            clauses.append(_clause(key, value))
        client = await self._c.temporal()
        found = []
        try:
            async for wf in client.list_workflows(" AND ".join(c for c in clauses if c)):
                attrs = wf.typed_search_attributes
                if any(attrs.get(key) != value for key, value in filters):
                    continue  # a prefix match of a value with unquotable characters
                found.append(
                    DealSummary(
                        opportunity_id=wf.id,
                        stage=attrs.get(sa.STAGE) or "?",
                        owner=attrs.get(sa.OWNER) or "?",
                        pipeline=attrs.get(sa.PIPELINE) or "?",
                        amount=_amount(attrs.get(sa.AMOUNT)),
                        running=wf.status == WorkflowExecutionStatus.RUNNING,
                    )
                )
        except (RPCError, RPCTimeoutOrCancelledError) as err:
            raise unavailable(client, err, None) from None
        return sorted(found, key=lambda d: d.opportunity_id)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"  # a doubled quote is a quote inside a string literal


def _clause(key: SearchAttributeKey[str], value: str) -> str:
    cut = min((i for i in (value.find(ch) for ch in _UNQUOTABLE) if i >= 0), default=None)
    if cut is None:
        return f"{key.name} = {_quoted(value)}"
    return f"{key.name} STARTS_WITH {_quoted(value[:cut])}" if cut else ""


def _amount(value: float | None) -> Decimal:
    """The amount search attribute is a Double: back to the decimal it was set from."""
    amount = Decimal(repr(value or 0.0))
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount
