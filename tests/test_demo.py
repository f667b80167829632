"""`make demo` plays a seeded team through real workflows into a database of its own."""

import uuid
from pathlib import Path

import psycopg
import pytest

from demo.run import run_demo
from domain.pipeline import load_catalog
from runtime.databases import database_name, database_on
from runtime.settings import Settings


async def _count_events(url: str) -> int | None:
    """Events in the database at `url`; None when it has no event store at all."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT to_regclass('events') IS NOT NULL")
        row = await cur.fetchone()
        if not row or not row[0]:
            return None
        cur = await conn.execute("SELECT count(*) FROM events")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


@pytest.mark.slow
async def test_the_demo_keeps_to_its_own_database(database_server: str, tmp_path: Path) -> None:
    worker_db = await database_on(database_server, f"worker_{uuid.uuid4().hex[:8]}")
    demo_db = f"demo_{uuid.uuid4().hex[:8]}"
    settings = Settings(
        temporal_address=None,
        temporal_namespace="default",
        database_url=worker_db,
        data_dir=tmp_path,
        pipelines_file=None,
    )
    counts, results = [], []
    try:
        for _ in range(2):  # a second run starts from nothing again: the same events, not twice as many
            results.append(
                await run_demo(settings, load_catalog(), opportunities=16, seed=3, database=demo_db)
            )
            counts.append(await _count_events(await database_on(database_server, demo_db)))
        first, again = results
        assert first.plan.database == demo_db
        assert first.outcome.opened >= 16  # the leads, and renewals opened by their revisits
        assert first.outcome.won == first.report.pipeline.won > 0
        assert first.activity.relationships_started == first.outcome.won
        assert again.outcome == first.outcome  # seeded: the same story, told from scratch
        assert counts[0] is not None
        assert counts[0] > 16 * 3
        assert counts[1] == counts[0]
        assert await _count_events(worker_db) is None  # the worker's store was never touched
    finally:
        async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
            for name in (demo_db, database_name(worker_db)):
                await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
