"""The dashboard's figures as of a moment: every report read at once, each on a connection of its
own (they are independent queries), and kept while nothing they read has changed.

A result is kept under (as-of, pipeline, the projector's checkpoint): the read models change only
when the checkpoint moves, so a kept result is exactly what the queries would answer again. "Today"
is as of now, which moves on by itself (idle days grow): its results are kept a minute at most.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from psycopg import AsyncConnection

from app.bootstrap import Dealflow
from reports.approvals import ApprovalReport, approval_report
from reports.board import open_money
from reports.cycle_times import CycleTimeReport, cycle_time_report
from reports.funnel import PipelineMetrics, pipeline_metrics
from reports.monthly_trend import Month, monthly_trend
from reports.period import Period
from reports.projector import Projector
from reports.stalled import StalledDeal, stalled_deals

T = TypeVar("T")
SPAN = timedelta(days=365)
KEPT = 32
TODAY_SECONDS = 60


@dataclass(frozen=True)
class DashboardData:
    period: Period
    cycle_times: CycleTimeReport
    pipeline: PipelineMetrics
    approvals: ApprovalReport
    money_by_stage: dict[str, tuple[int, Decimal]]
    trend: list[Month]
    stalled: list[StalledDeal]
    currency: str


_kept: "OrderedDict[tuple[object, ...], DashboardData]" = OrderedDict()


async def dashboard_data(
    dealflow: Dealflow, moment: datetime, pipeline: str | None, today: bool
) -> DashboardData:
    store = await dealflow.connections.store()
    position = (await Projector(store).catch_up()).position
    bucket = int(moment.timestamp()) // TODAY_SECONDS if today else moment
    key = (id(dealflow), bucket, pipeline, position)
    found = _kept.get(key)
    if found is not None:
        _kept.move_to_end(key)
        return found

    async def read(query: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        async with store.pool.connection() as conn:
            return await query(conn)

    catalog = dealflow.catalog
    period = Period(start=moment - SPAN, end=moment, as_of=moment)
    cycles, funnel, approvals, money, trend, stalled = await asyncio.gather(
        read(lambda c: cycle_time_report(c, period, pipeline)),
        read(lambda c: pipeline_metrics(c, catalog, period, pipeline)),
        read(lambda c: approval_report(c, period, pipeline)),
        read(lambda c: open_money(c, moment, pipeline)),
        read(lambda c: monthly_trend(c, moment - SPAN + timedelta(days=31), moment, pipeline)),
        read(lambda c: stalled_deals(c, catalog, moment)),
    )
    if pipeline:
        stalled = [s for s in stalled if s.pipeline == pipeline]
    data = DashboardData(period, cycles, funnel, approvals, money, trend, stalled, catalog.currency(pipeline))
    _kept[key] = data
    while len(_kept) > KEPT:
        _kept.popitem(last=False)
    return data
