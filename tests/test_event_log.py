"""The process-mining export: pm4py opens the CSV and the XES as they are, and the case durations
it computes agree with the project's own total sales time."""

import random
import statistics
from datetime import timedelta
from pathlib import Path

import pandas
import pm4py
import pytest

from reports.cycle_times import cycle_time_report
from reports.event_log import stage_moves, write_log
from reports.period import Period
from reports.projector import Projector
from reports.projector_stages import STAGE_MOVE_TYPES
from store.event_store import EventStore
from tests.factories import T0, script
from tests.test_projector import random_history

CASES = 40


@pytest.fixture
async def histories(store: EventStore) -> EventStore:
    rng = random.Random(5)
    for i in range(CASES):
        await store.append(random_history(f"opp-{i:02d}", rng))
    await Projector(store).catch_up()
    return store


async def _export(store: EventStore, path: Path, fmt: str) -> tuple[int, int]:
    await Projector(store).catch_up()  # the log reads the read models
    async with store.pool.connection() as conn:
        return await write_log(stage_moves(conn), path, fmt)


def _load(path: Path) -> pandas.DataFrame:
    if path.suffix == ".xes":
        return pm4py.read_xes(str(path))
    frame = pandas.read_csv(path)
    return pm4py.format_dataframe(
        frame, case_id="case_id", activity_key="activity", timestamp_key="timestamp"
    )


@pytest.mark.parametrize("fmt", ["csv", "xes"])
async def test_pm4py_case_durations_are_the_total_sales_times(
    histories: EventStore, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"log.{fmt}"
    cases, events = await _export(histories, path, fmt)
    async with histories.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM events WHERE type = ANY(%s)", (list(STAGE_MOVE_TYPES),)
        )
        row = await cur.fetchone()
        report = await cycle_time_report(conn, Period.until(T0 - timedelta(days=1), T0 + timedelta(days=400)))
    assert row is not None
    assert (cases, events) == (CASES, row[0])

    log = _load(path)
    assert log["case:concept:name"].nunique() == CASES
    assert len(log) == events
    assert set(log["concept:name"]) >= {"identify", "contact", "lost", "deal", "after_sales"}
    # Won cases up to the deal: from the opening to the first entry of deal, the total sales time.
    won = pm4py.filter_event_attribute_values(log, "concept:name", ["deal"], level="case", retain=True)
    to_deal = pm4py.filter_event_attribute_values(
        won, "concept:name", ["after_sales"], level="event", retain=False
    )
    durations = [seconds / 86400 for seconds in pm4py.get_all_case_durations(to_deal)]
    total = report.cycles["total_sales"].team
    assert total is not None
    assert total.n == len(durations) > 3
    assert total.mean == pytest.approx(statistics.fmean(durations), abs=1e-6)
    assert total.median == pytest.approx(statistics.median(durations), abs=1e-6)


async def test_the_csv_keeps_each_case_in_order_with_its_owner_and_loss_reason(
    store: EventStore, tmp_path: Path
) -> None:
    await store.append(
        script("A", "alice", "software", [(0, "identify"), (2, "contact"), (5, "lost"), (9, "reopen")])
    )
    await store.append(script("B", "bob", "services", [(1, "identify")]))
    path = tmp_path / "log.csv"
    assert await _export(store, path, "csv") == (2, 5)
    rows = pandas.read_csv(path, keep_default_na=False).to_dict("records")
    assert [(r["case_id"], r["activity"], r["resource"], r["reason"]) for r in rows] == [
        ("A", "identify", "alice", ""),
        ("A", "contact", "alice", ""),
        ("A", "lost", "alice", "price"),
        ("A", "contact", "alice", ""),  # reopened: back into the stage it was lost from
        ("B", "identify", "bob", ""),
    ]
    assert rows[2]["timestamp"] == (T0 + timedelta(days=5)).isoformat()
    assert {r["pipeline"] for r in rows} == {"software", "services"}


async def test_a_pipeline_filter_and_an_unknown_format(store: EventStore, tmp_path: Path) -> None:
    await store.append(script("A", "alice", "software", [(0, "identify")]))
    await store.append(script("B", "bob", "services", [(1, "identify")]))
    await Projector(store).catch_up()
    async with store.pool.connection() as conn:
        assert await write_log(stage_moves(conn, pipeline="services"), tmp_path / "s.xes", "xes") == (1, 1)
        with pytest.raises(ValueError, match="unknown event log format"):
            await write_log(stage_moves(conn), tmp_path / "x.json", "json")
    assert pm4py.read_xes(str(tmp_path / "s.xes"))["case:concept:name"].tolist() == ["B"]
