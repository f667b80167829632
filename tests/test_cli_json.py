"""On the dev server: `--json` written one way by every command (amounts as decimal strings,
datetimes RFC 3339 UTC with Z), quotes in `list` filters, and `brief compile` answering at once."""

import asyncio
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.common import cli_actor
from cli.main import main
from runtime.settings import TASK_QUEUE
from runtime.temporal_client import create_worker
from store.event_store import EventStore
from tests.factories import ALL_FACTS

pytestmark = pytest.mark.slow
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def cli(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 0) -> str:
    capsys.readouterr()
    assert await main(argv) == code, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return out


def start(oid: str, owner: str, amount: str = "0") -> list[str]:
    return [
        "start", "--id", oid, "--owner", owner, "--company", "Acme", "--contact", "Wang", "--source", "web",
        "--amount", amount,
    ]  # fmt: skip


def datetimes(value: Any) -> list[str]:
    """Every string in a JSON document that looks like a timestamp."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in datetimes(v)]
    if isinstance(value, list):
        return [s for v in value for s in datetimes(v)]
    return [value] if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value) else []


@pytest.fixture
def cli_env(dev_server_env: WorkflowEnvironment, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_server_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", dev_server_env.client.namespace)
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.mark.usefixtures("cli_env")
async def test_json_is_written_one_way_and_quotes_do_not_break_list(
    dev_server_env: WorkflowEnvironment, store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run = uuid.uuid4().hex[:6]
    async with create_worker(dev_server_env.client, store, TASK_QUEUE):
        await cli(start(f"{run}-a", "an.li", "120000.50"), capsys)
        facts = [f"--fact={k}={v}" for k, v in ALL_FACTS.items()]
        await cli(["advance", f"{run}-a", "--to", "contact", *facts], capsys)
        await cli(start(f"{run}-q", f"o'brien-{run}"), capsys, code=3)  # no quotes in an owner's id
        # The command line's operator is each event's actor: `cli:` and the login name.
        assert {e.actor for e in await store.read_stream(f"{run}-a")} == {cli_actor()}
        assert cli_actor().startswith("cli")

        shown = json.loads(await cli(["show", f"{run}-a", "--json"], capsys))
        assert (shown["amount"], shown["approved_discount"]) == ("120000.50", "0")
        stamps = datetimes(shown)
        assert len(stamps) >= 3  # the timeline's entries and exit, the last activity
        assert all(UTC_Z.match(s) for s in stamps), stamps

        async def listed(owner: str) -> list[dict[str, Any]]:
            """This run's rows of `list --owner`, once visibility has them (the server is shared)."""
            async with asyncio.timeout(15):
                while True:
                    rows = json.loads(await cli(["list", "--owner", owner, "--json"], capsys))
                    if mine := [r for r in rows if r["opportunity_id"].startswith(run)]:
                        return mine
                    await asyncio.sleep(0.2)

        [row] = await listed("an.li")
        assert row["stage"] in ("identify", "contact")  # visibility may not have seen the move yet
        assert [{**row, "stage": "contact"}] == [
            {
                "opportunity_id": f"{run}-a",
                "stage": "contact",
                "owner": "an.li",
                "pipeline": "software",
                "amount": "120000.5",
                "running": True,
            }
        ]
        # Quotes and backslashes in a filter are quoted, not read as query syntax: no match, no error.
        for owner in ("o'brien", 'say "hi"', "back\\slash", "an.li' OR '1'='1"):
            assert json.loads(await cli(["list", "--owner", owner, "--json"], capsys)) == [], owner

        report = json.loads(
            await cli(["report", "--from", "2020-01-01T08:00+08:00", "--to", "2099-01-01", "--json"], capsys)
        )
        assert report["period"]["start"] == "2020-01-01T00:00:00Z"
        assert all(UTC_Z.match(s) for s in datetimes(report))
        assert report["pipeline_value"] == "120000.50"  # what is open, of every pipeline
        assert isinstance(report["forecast"], str)


@pytest.mark.usefixtures("cli_env")
async def test_brief_compile_answers_in_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    brief = json.loads(await cli(["brief", "compile", "--json"], capsys))
    assert time.monotonic() - started < 10  # it used to wait 30 s for a second pool connection, then fail
    assert brief["period"] == "week"
    assert brief["team"]["won_amount"] == "0"
    shown = json.loads(await cli(["brief", "show", "--json"], capsys))
    assert shown["start"] == brief["start"]
    assert UTC_Z.match(shown["compiled_at"])


@pytest.mark.usefixtures("cli_env")
async def test_export_writes_the_file_and_names_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["export", str(tmp_path / "stages.csv")], capsys) == ""  # the file is the result
    assert (tmp_path / "stages.csv").read_text().startswith("case_id,activity,timestamp")
    await cli(["export", str(tmp_path / "stages.txt")], capsys, code=2)
    await cli(["export", str(tmp_path / "no-such-dir" / "stages.csv")], capsys, code=2)
