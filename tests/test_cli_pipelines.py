"""`dealflow pipelines --versions`: every pipeline version a deal used, which one is today's."""

import json
import uuid
from pathlib import Path

import pytest

from app.deal_client import DealClient
from cli.main import main
from domain.pipeline import SHIPPED_PIPELINES
from store.event_store import EventStore
from tests.factories import open_cmd


async def test_versions_a_deal_used_are_listed_and_todays_is_marked(
    deals: DealClient,
    store: EventStore,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await deals.open(open_cmd(f"pv-{uuid.uuid4().hex[:8]}"))  # the worker pins today's software
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()
    assert await main(["pipelines", "--versions", "--json"]) == 0
    [used] = json.loads(capsys.readouterr().out)
    assert (used["pipeline_id"], used["current"]) == ("software", True)
    assert len(used["version"]) == 64
    assert used["pipeline"]["id"] == "software"

    # The file changes: the version deals used is still there, no longer today's.
    changed = tmp_path / "pipelines.toml"
    text = SHIPPED_PIPELINES.read_text()
    changed.write_text(text.replace("Software licences", "Software licences, 2027 terms", 1))
    monkeypatch.setenv("DEALFLOW_PIPELINES", str(changed))
    assert await main(["pipelines", "--versions", "--pipeline", "software"]) == 0
    out = capsys.readouterr().out
    assert used["version"][:12] in out
    assert "today's" not in out
    assert "1 versions" in out
