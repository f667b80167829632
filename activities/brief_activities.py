"""The activity that compiles a sales brief from the event store and keeps it in `sales_briefs`."""

from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.sales_brief import SalesBrief, period_bounds
from reports.projector import Projector
from reports.sales_brief import compile_brief
from store.briefs import save_brief
from store.event_store import EventStore
from workflows.messages import COMPILE_BRIEF, BriefRequest

log = structlog.get_logger(__name__)


class BriefActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name=COMPILE_BRIEF)
    async def compile_sales_brief(self, request: BriefRequest) -> SalesBrief:
        try:
            start, end = period_bounds(request.period, request.period_start, request.now or datetime.now(UTC))
        except ValueError as err:
            raise ApplicationError(str(err), type="BadBriefRequest", non_retryable=True) from err
        await Projector(self._store).catch_up()  # the brief reads the read models
        async with self._store.pool.connection() as conn:
            brief = await compile_brief(conn, request.period, start, end, request.pipeline)
            await save_brief(conn, brief)
        log.info("sales brief compiled", period=request.period, start=str(start), pipeline=request.pipeline)
        return brief
