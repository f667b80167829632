"""The command line's contract with scripts: an exit code per kind of failure, the message on
stderr, never a traceback for what a user can cause; `--version`; the installed `dealflow`."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.main import main
from runtime.settings import TASK_QUEUE
from runtime.temporal_client import create_worker
from store.event_store import EventStore

ROOT = Path(__file__).parents[1]


async def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    return code, out, err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def temporal_env(dev_server_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_server_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", dev_server_env.client.namespace)


@pytest.mark.usefixtures("temporal_env")
async def test_refused_is_3_and_not_found_is_4(
    dev_server_env: WorkflowEnvironment, store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    oid = f"cli-{uuid.uuid4().hex[:8]}"
    start = ["start", "--id", oid, "--owner", "a", "--company", "c", "--contact", "p", "--source", "web"]
    async with create_worker(dev_server_env.client, store, TASK_QUEUE):  # the worker's catalog decides
        code, out, err = await run([*start, "--pipeline", "hardware"], capsys)
    assert (code, out) == (3, "")
    # a command names its request id first (a new one here), then the one line of its refusal
    request_line, refusal = err.splitlines()
    assert request_line.startswith("request id: ")
    assert refusal.startswith("refused [unknown-pipeline] the worker has no pipeline 'hardware'")
    code, out, err = await run(["show", f"{oid}-never"], capsys)
    assert (code, out) == (4, "")
    assert err == f"not found: no opportunity '{oid}-never'\n"
    code, _, err = await run(["aftersales", "show", oid], capsys)
    assert code == 4
    assert f"no relationship '{oid}.after-sales'" in err


@pytest.mark.parametrize(
    ("env", "argv", "code", "says"),
    [
        ({"TEMPORAL_ADDRESS": "127.0.0.1:{port}"}, ["show", "x"], 5, "cannot reach Temporal at 127.0.0.1:"),
        ({"TEMPORAL_ADDRESS": "no port here"}, ["list"], 2, "TEMPORAL_ADDRESS must be host:port"),
        ({"TEMPORAL_ADDRESS": "localhost:99999"}, ["show", "x"], 2, "TEMPORAL_ADDRESS must be host:port"),
        (
            {"DATABASE_URL": "postgresql://u:s3cret@127.0.0.1:{port}/db"},
            ["stalled"],
            5,
            "cannot reach PostgreSQL",
        ),
        ({"DATABASE_URL": "not a = connection ' string"}, ["brief", "show"], 2, "DATABASE_URL"),
        ({"DEALFLOW_PIPELINES": "{dir}/bad.toml"}, ["pipelines"], 2, "not valid TOML"),
        ({"DEALFLOW_PIPELINES": "{dir}/shape.toml"}, ["pipelines"], 2, "shape.toml"),
        ({"DEALFLOW_PIPELINES": "{dir}/missing.toml"}, ["pipelines"], 2, "does not exist"),
        ({}, ["report", "--from", "last tuesday"], 2, "not an ISO date: 'last tuesday'"),
        ({}, ["report", "--from", "2026-02-01", "--to", "2026-01-01"], 2, "must be before"),
        ({}, ["advance", "x", "--to", "contact", "--fact", "no-equals-sign"], 2, "KEY=VALUE"),
        ({}, ["start", "--owner", "a"], 2, "Missing option"),
        ({}, ["no-such-command"], 2, "No such command"),
    ],
)
async def test_what_a_user_can_get_wrong_exits_with_its_code_and_no_traceback(
    env: dict[str, str],
    argv: list[str],
    code: int,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "bad.toml").write_text("pipelines = [")
    (tmp_path / "shape.toml").write_text("pipelines = { software = 3 }\n")
    port = free_port()  # nothing listens there
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(port=port, dir=tmp_path))
    got, out, err = await run(argv, capsys)
    assert (got, out) == (code, ""), err
    assert says in " ".join(err.split()), err  # rich may wrap the usage panel
    assert "s3cret" not in err  # a connection string's password is never shown


async def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(["--version"], capsys)
    assert code == 0
    assert out.startswith("dealflow 0.")
    code, out, _ = await run(["--help"], capsys)
    assert code == 0
    for text in ("refused by a rule", "not found", "unreachable", "aftersales", "worker", "metrics"):
        assert text in out
    code, out, _ = await run(["advance", "--help"], capsys)
    assert code == 0
    assert "Example: dealflow advance" in out


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "dealflow"
    assert script.exists(), "pip install -e . installs the dealflow console script"
    done = subprocess.run([script, "--help"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert "Usage: dealflow" in done.stdout
    # starter.py is the same command line
    done = subprocess.run(
        [sys.executable, "starter.py", "report", "--as-of", "soon"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2
    assert "not an ISO date" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_sigterm_stops_the_worker_cleanly_with_130(
    dev_server_env: WorkflowEnvironment, database_url: str
) -> None:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_server_env.client.namespace,
        "DATABASE_URL": database_url,
    }
    script = Path(sys.executable).parent / "dealflow"
    with subprocess.Popen([script, "worker"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True) as worker:
        assert worker.stderr is not None
        try:
            seen = []
            for line in worker.stderr:
                if "worker running" in line:
                    break
                seen.append(line)
            else:
                pytest.fail(f"the worker exited with {worker.wait()} before running: {''.join(seen)}")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 130
            rest = worker.stderr.read()
            assert "worker stopping" in rest
            assert "Traceback" not in rest
        finally:
            worker.kill()
