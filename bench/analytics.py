"""Latency of the analytics queries (issue 16) on whatever history the store holds (e.g. one
written by bench.history), the read models caught up first:

    python -m bench.analytics [--database-url URL] [--repeat 20]

p50/p95 of each analytics query over the last year and the last month of the history, as of its
last lead (the month-by-month ones, backtest and trend, over the year: twelve months each).
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bench.timing import p50_p95
from domain.pipeline import load_catalog
from reports.backtest import backtest
from reports.calibration import calibration
from reports.forecast_categories import forecast_by_category
from reports.open_age import open_age_report
from reports.period import Period
from reports.projector import Projector
from reports.rep_performance import rep_report
from reports.trend import trend
from reports.velocity import velocity_report
from reports.waterfall import waterfall
from store.event_store import EventStore

TARGET_P95_MS = 50.0  # the performance issue's target for a report query


async def _latency(call: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return p50_p95(times)


async def measure(store: EventStore, repeat: int, say: Callable[[str], None] = print) -> dict[str, Any]:
    await Projector(store).catch_up()
    async with store.pool.connection() as conn:  # the history thins out after its last lead
        cur = await conn.execute("SELECT max(opened_at) FROM rm_opportunities")
        row = await cur.fetchone()
    assert row is not None
    last_at = row[0]
    assert isinstance(last_at, datetime), "the store holds no opportunities"
    catalog = load_catalog()
    queries: dict[str, dict[str, float]] = {}
    async with store.pool.connection() as conn:
        for span, days in (("year", 365), ("month", 30)):
            period = Period(start=last_at - timedelta(days=days), end=last_at, as_of=last_at)
            calls: dict[str, Callable[[], Awaitable[Any]]] = {
                f"per rep: funnel, win rate, lost reasons, {span}": partial(rep_report, conn, period),
                f"age of the open stage (20 oldest), {span}": partial(
                    open_age_report, conn, period, None, 20
                ),
                f"velocity per rep, {span}": partial(velocity_report, conn, period),
                f"calibration, {span}": partial(calibration, conn, catalog, period),
                f"pipeline waterfall, {span}": partial(waterfall, conn, period.start, period.end),
            }
            if span == "year":
                calls["backtest, 12 months"] = partial(backtest, conn, catalog, period)
                calls["monthly trend, 12 months"] = partial(trend, conn, period)
                calls["forecast by close month and category"] = partial(
                    forecast_by_category, conn, catalog, last_at
                )
            for name, call in calls.items():
                queries[name] = await _latency(call, repeat)
    for name, figures in queries.items():
        met = "met" if figures["p95_ms"] < TARGET_P95_MS else "missed"
        say(f"  {name:<48} p50 {figures['p50_ms']:8.1f} ms   p95 {figures['p95_ms']:8.1f} ms  ({met})")
    return {"queries": queries, "target_p95_ms": TARGET_P95_MS}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: DATABASE_URL, else the embedded PostgreSQL")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    from runtime.embedded import endpoints
    from runtime.settings import Settings

    async with endpoints(Settings.from_env(), temporal=False) as ep:
        store = await EventStore.open(args.database_url or ep.database_url)
        try:
            await measure(store, args.repeat)
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
