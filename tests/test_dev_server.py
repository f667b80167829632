"""On the Temporal CLI dev server: listing through visibility, the CLI end to end, and a worker
process killed mid-flight that loses nothing and duplicates nothing."""

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio.client import ScheduleActionExecutionStartWorkflow
from temporalio.testing import WorkflowEnvironment

import starter
from app.bootstrap import open_dealflow
from app.deal_client import DealClient
from domain.commands import AdvanceStage
from domain.opportunity import replay
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, Stage
from runtime.settings import TASK_QUEUE, Settings
from runtime.temporal_client import create_worker
from store.event_store import EventStore
from tests.factories import ALL_FACTS, open_cmd, sign_off
from workflows.sales_brief import WEEKLY_BRIEF_SCHEDULE_ID

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[1]


def start_args(oid: str, owner: str, *extra: str) -> list[str]:
    """`dealflow start` for a lead at Acme; `extra` flags (--amount, --pipeline, …) are appended."""
    return [
        "start",
        "--id",
        oid,
        "--owner",
        owner,
        "--company",
        "Acme",
        "--contact",
        "Wang",
        "--source",
        "web",
        *extra,
    ]


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Visibility is eventually consistent: poll until `check()` is true (15 s at most)."""
    async with asyncio.timeout(15):
        while not await check():  # noqa: ASYNC110 - polling a remote index, no event to wait on
            await asyncio.sleep(0.2)


def server_env(dev_server_env: WorkflowEnvironment, database_url: str) -> dict[str, str]:
    """The environment that points dealflow's CLI and worker at the test's servers."""
    return {
        "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_server_env.client.namespace,
        "DATABASE_URL": database_url,
    }


@pytest.fixture
def cli_env(dev_server_env: WorkflowEnvironment, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in server_env(dev_server_env, database_url).items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("cli_env")
async def test_list_by_stage_through_visibility_and_the_cli(
    dev_server_env: WorkflowEnvironment, store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    run = uuid.uuid4().hex[:6]
    async with create_worker(dev_server_env.client, store, TASK_QUEUE):
        cli = starter.main
        assert await cli(start_args(f"{run}-a", "an.li", "--amount", "120000")) == 0
        for oid in (f"{run}-b", f"{run}-c"):
            assert await cli(start_args(oid, "bo.wang")) == 0
            for stage in ("contact", "needs_analysis", "proposal"):
                facts = [f"--fact={k}={v}" for k, v in ALL_FACTS.items()]
                assert await cli(["advance", oid, "--to", stage, *facts]) == 0
        assert await cli(["lose", f"{run}-c", "--reason", "competitor", "--note", "rival"]) == 0
        # refusals exit 3, on stderr, and name the rule
        assert await cli(["advance", f"{run}-a", "--to", "proposal"]) == 3
        assert await cli(start_args(f"{run}-x", "a", "--pipeline", "hardware")) == 3
        assert await cli(start_args(f"{run}-y", "a", "--amount", "-10")) == 3
        err = capsys.readouterr().err
        assert "[forward-one-stage]" in err
        assert "[unknown-pipeline]" in err
        assert "[amount-not-negative]" in err

        async def listed() -> bool:
            async with open_dealflow(Settings.from_env()) as app:
                proposal = {
                    d.opportunity_id
                    for d in await app.queries.list(stage="proposal")
                    if d.opportunity_id.startswith(run)
                }
                lost = {
                    d.opportunity_id
                    for d in await app.queries.list(stage="lost")
                    if d.opportunity_id.startswith(run)
                }
            return proposal == {f"{run}-b"} and lost == {f"{run}-c"}

        await eventually(listed)
        capsys.readouterr()
        assert await cli(["list", "--stage", "proposal", "--owner", "bo.wang", "--json"]) == 0
        rows = [r for r in json.loads(capsys.readouterr().out) if r["opportunity_id"].startswith(run)]
        assert rows == [
            {
                "opportunity_id": f"{run}-b",
                "stage": "proposal",
                "owner": "bo.wang",
                "pipeline": "software",
                "amount": "0",
                "running": True,
            }
        ]
        assert await cli(["show", f"{run}-b", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [v["stage"] for v in shown["timeline"]] == [
            "identify",
            "contact",
            "needs_analysis",
            "proposal",
        ]
        assert await cli(["metrics", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["cycles"]["lead_conversion"]["team"]["n"] == 2  # b and c reached contact


class WorkerProcesses:
    """`python worker.py` processes against the test's servers; all are killed at the end."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=ROOT,
            env=self._env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        assert proc.stderr is not None
        for line in proc.stderr:  # wait until the worker says it is polling
            if b"worker running" in line:
                # keep draining its log so a full pipe never blocks the worker
                threading.Thread(target=proc.stderr.read, daemon=True).start()
                return proc
        pytest.fail(f"worker exited with {proc.wait()}")

    def kill_all(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
            if proc.stderr:
                proc.stderr.close()


@pytest.fixture
def workers(dev_server_env: WorkflowEnvironment, database_url: str) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses({**os.environ, **server_env(dev_server_env, database_url)})
    yield processes
    processes.kill_all()


async def test_killing_the_worker_mid_flight_loses_and_duplicates_nothing(
    dev_server_env: WorkflowEnvironment, store: EventStore, workers: WorkerProcesses
) -> None:
    first = workers.spawn()
    deals = DealClient(dev_server_env.client, load_catalog())
    run = uuid.uuid4().hex[:6]
    ids = [f"{run}-{n:02d}" for n in range(24)]
    moves_done = 0
    fifty_moves_done = asyncio.Event()
    finals = {}

    async def drive(oid: str) -> None:
        nonlocal moves_done
        handle = await deals.open(open_cmd(oid))
        for stage in STAGE_ORDER[1:]:
            if stage is Stage.DEAL:
                await sign_off(deals, oid)
            await deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
            moves_done += 1
            if moves_done == 50:
                fifty_moves_done.set()
        finals[oid] = await handle.result()

    async def kill_and_restart() -> int:
        await fifty_moves_done.wait()
        first.send_signal(signal.SIGKILL)  # no goodbye: in-flight workflow tasks and activities are abandoned
        await asyncio.to_thread(first.wait)
        at_kill = moves_done
        await asyncio.sleep(1)
        await asyncio.to_thread(workers.spawn)
        return at_kill

    killer = asyncio.create_task(kill_and_restart())
    await asyncio.wait_for(asyncio.gather(*(drive(oid) for oid in ids)), timeout=180)
    at_kill = await killer
    assert 50 <= at_kill < len(ids) * 6  # the kill really happened mid-flight
    assert moves_done == len(ids) * 6
    # 11 events: the 10 of a lifecycle and the close date the first move's facts set
    assert await store.stream_versions(ids) == {oid: list(range(1, 12)) for oid in ids}
    for oid in ids:
        assert replay(await store.read_stream(oid)) == finals[oid]


@pytest.mark.usefixtures("cli_env")
async def test_a_manager_works_the_approval_desk_from_the_cli(
    dev_server_env: WorkflowEnvironment, store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    oid = f"desk-{uuid.uuid4().hex[:6]}"
    cli = starter.main
    async with create_worker(dev_server_env.client, store, TASK_QUEUE):
        assert await cli(start_args(oid, "an.li", "--amount", "100000")) == 0
        facts = [f"--fact={k}={v}" for k, v in ALL_FACTS.items()]
        for stage in ("contact", "needs_analysis", "proposal", "negotiation"):
            assert await cli(["advance", oid, "--to", stage, *facts]) == 0
        assert await cli(["discount", "request", oid, "--pct", "12", "--comment", "rival's quote"]) == 0
        capsys.readouterr()
        assert await cli(["approvals", "pending", "--approver", "mei.chen", "--json"]) == 0
        desk = json.loads(capsys.readouterr().out)
        assert [(p["opportunity_id"], p["level"], p["approvers"]) for p in desk] == [
            (oid, "manager", ["mei.chen", "hua.zhang"])
        ]
        assert (
            await cli(["approvals", "pending", "--approver", "jun.wu", "--json"]) == 0
        )  # 12 % is above his 10 %
        assert json.loads(capsys.readouterr().out) == []
        assert await cli(["discount", "approve", oid, "--approver", "jun.wu"]) == 3
        assert "[approver-limit]" in capsys.readouterr().err
        assert await cli(["discount", "approve", oid, "--approver", "mei.chen", "--comment", "ok"]) == 0
        assert (
            await cli(
                [
                    "contract",
                    "submit",
                    oid,
                    "--contract-id",
                    "C-1",
                    "--total",
                    "88000",
                    "--discount",
                    "12",
                    "--payment-days",
                    "90",
                    "--liability-cap",
                    "100000",
                ]
            )
            == 0
        )
        assert "checks_failed — payment-terms" in capsys.readouterr().out
        assert (
            await cli(
                [
                    "contract",
                    "submit",
                    oid,
                    "--contract-id",
                    "C-2",
                    "--total",
                    "88000",
                    "--discount",
                    "12",
                    "--payment-days",
                    "30",
                    "--liability-cap",
                    "100000",
                ]
            )
            == 0
        )
        assert await cli(["contract", "sign", oid, "--by", "lin.ma"]) == 0
        assert await cli(["advance", oid, "--to", "deal", *facts]) == 0
        capsys.readouterr()
        assert await cli(["show", oid, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert (shown["stage"], shown["approved_discount"], shown["contract"]["status"]) == (
            "deal",
            "12",
            "signed_off",
        )
        assert await cli(["approvals", "pending", "--json"]) == 0
        assert [p for p in json.loads(capsys.readouterr().out) if p["opportunity_id"] == oid] == []


@pytest.mark.usefixtures("cli_env")
async def test_the_weekly_schedule_produces_a_stored_printable_brief(
    dev_server_env: WorkflowEnvironment, store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    client = dev_server_env.client
    async with create_worker(client, store, TASK_QUEUE):
        try:
            assert await starter.main(["brief", "schedule"]) == 0
            assert (
                await starter.main(["brief", "schedule", "--hour", "8"]) == 0
            )  # again: updated, not doubled
            handle = client.get_schedule_handle(WEEKLY_BRIEF_SCHEDULE_ID)
            described = await handle.describe()
            upcoming = described.info.next_action_times[:3]
            assert [(t.weekday(), t.hour, t.minute) for t in upcoming] == [(0, 8, 0)] * 3  # Mondays, 08:00
            assert [b - a for a, b in itertools.pairwise(upcoming)] == [timedelta(days=7)] * 2

            await handle.trigger()  # what Monday morning does

            async def ran() -> bool:
                return bool((await handle.describe()).info.recent_actions)

            await eventually(ran)
            action = (await handle.describe()).info.recent_actions[0].action
            assert isinstance(action, ScheduleActionExecutionStartWorkflow)
            brief = await client.get_workflow_handle(action.workflow_id).result(
                rpc_timeout=timedelta(seconds=30)
            )
            assert isinstance(brief, dict)
        finally:
            with contextlib.suppress(Exception):
                await client.get_schedule_handle(WEEKLY_BRIEF_SCHEDULE_ID).delete()
    capsys.readouterr()
    assert await starter.main(["brief", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["period"], shown["start"], shown["pipeline"]) == ("week", brief["start"], None)
    assert date.fromisoformat(shown["start"]).weekday() == 0
    assert await starter.main(["brief", "show"]) == 0
    assert "sales brief, week" in capsys.readouterr().out
