"""`report --chart`: a real PNG of the funnel and time per stage, also for an empty period."""

import random
from datetime import timedelta
from pathlib import Path

import matplotlib.image

from cli.chart import render_chart
from domain.pipeline import load_catalog
from reports.cycle_times import cycle_time_report
from reports.funnel import pipeline_metrics
from reports.period import Period
from reports.projector import Projector
from store.event_store import EventStore
from tests.factories import T0
from tests.test_projector import random_history


async def _chart(store: EventStore, period: Period, path: Path) -> Path:
    async with store.pool.connection() as conn:
        report = await cycle_time_report(conn, period)
        metrics = await pipeline_metrics(conn, load_catalog(), period)
    return render_chart(report, metrics, path)


async def test_the_chart_is_a_png_with_both_panels_drawn(store: EventStore, tmp_path: Path) -> None:
    rng = random.Random(3)
    for i in range(30):
        await store.append(random_history(f"opp-{i}", rng))
    await Projector(store).catch_up()
    full = await _chart(store, Period.until(T0, T0 + timedelta(days=200)), tmp_path / "full.png")
    empty = await _chart(
        store, Period.until(T0 - timedelta(days=90), T0 - timedelta(days=60)), tmp_path / "e.png"
    )
    for path in (full, empty):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(path).shape
        assert (width, height) == (1540, 660)
    # Bars are ink: the chart with data carries far more non-white pixels than the empty one.
    ink = [(matplotlib.image.imread(p)[:, :, :3] < 0.9).any(axis=2).mean() for p in (full, empty)]
    assert ink[0] > 3 * ink[1]
