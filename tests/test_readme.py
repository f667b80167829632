"""The README is a test: every command and Python snippet it shows runs here, in order, against a
real Temporal dev server and PostgreSQL, and the output it shows must appear."""

import ast
import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime.temporal_client import in_memory_dev_server
from tests.readme_runner import Command, Snippet, missing_output, walkthrough

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
COMMAND_TIMEOUT_S = 240

# Shown in the README, not run here, each for its reason.
NOT_RUN = {
    "make test": "it is the command running this test",
    "make check": "lint, types and this very suite: what CI runs",
    "make bench": "benchmarks take minutes and measure time, which no test should",
    "make bench-full": "the documented benchmark size takes most of an hour",
    ".venv/bin/python -m bench.": "parts of the benchmarks (make bench runs them)",
    ".venv/bin/python -m tests.record_histories": "records new workflow histories into tests/histories/",
}
# Servers: started in the background, stopped when the walkthrough ends; each is ready once its log
# shows every line named here.
BACKGROUND = {
    "make run": ("worker running", "dealflow API on"),
    "make worker": ("worker running",),
    "dealflow worker": ("worker running",),
    "dealflow serve": ("dealflow API on",),
}


def _not_run(command: str) -> bool:
    text = command.split("=", 1)[1].split(" ", 1)[1] if command.startswith("DATABASE_URL=") else command
    return any(text.startswith(prefix) for prefix in NOT_RUN)


def _shell(command: str) -> str:
    """`make X` always means the project's Makefile, wherever the walkthrough's files go."""
    return f"make -C {ROOT} {command[5:]}" if command.startswith("make ") else command


@pytest.fixture
async def temporal_address() -> AsyncIterator[str]:
    async with await in_memory_dev_server() as env:
        yield env.client.service_client.config.target_host


@pytest.fixture
def walk_env(tmp_path: Path, temporal_address: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEALFLOW_PIPELINES")}
    env |= {
        "TEMPORAL_ADDRESS": temporal_address,
        "DEALFLOW_DATA_DIR": str(tmp_path / "data"),
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "COLUMNS": "250",  # no line of the output wrapped
        "NO_COLOR": "1",
    }
    return env


async def _run_snippet(step: Snippet, namespace: dict[str, Any]) -> None:
    code = compile(step.code, f"README.md:{step.line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # the README's own code, run as a reader would paste it
    if asyncio.iscoroutine(result):
        await result


def _run_command(step: Command, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", _shell(step.text)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    where = f"README.md:{step.line}: `{step.text}`"
    assert done.returncode == step.exit_code, f"{where} exited {done.returncode}:\n{output}"
    assert "Traceback" not in output, f"{where} printed a traceback:\n{output}"
    missing = missing_output(step.expected, output)
    assert missing is None, f"{where} did not print {missing!r}; it printed:\n{output}"


@pytest.mark.slow
async def test_every_readme_step_works_as_written(
    walk_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("DATABASE_URL", "DEALFLOW_PIPELINES"):
        monkeypatch.delenv(key, raising=False)
    for key in ("TEMPORAL_ADDRESS", "DEALFLOW_DATA_DIR"):
        monkeypatch.setenv(key, walk_env[key])
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    background: list[subprocess.Popen[bytes]] = []
    namespace: dict[str, Any] = {"__name__": "readme"}
    try:
        for step in walkthrough(README):
            if isinstance(step, Snippet):
                await _run_snippet(step, namespace)
            elif _not_run(step.text):
                continue
            elif step.text.startswith(tuple(BACKGROUND)):
                background.append(_start(step, walk_env, cwd, len(background)))
            else:
                await asyncio.to_thread(_run_command, step, walk_env, cwd)
    finally:
        for proc in background:
            _stop(proc)


def _start(step: Command, env: dict[str, str], cwd: Path, n: int) -> "subprocess.Popen[bytes]":
    log_path = cwd / f"background-{n}.log"
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {_shell(step.text)}"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make and the servers it runs stop together
        )
    ready = next(lines for prefix, lines in BACKGROUND.items() if step.text.startswith(prefix))
    deadline = 60.0
    while deadline > 0 and not all(line.encode() in log_path.read_bytes() for line in ready):
        assert proc.poll() is None, log_path.read_text()
        deadline -= 0.2
        time.sleep(0.2)
    assert deadline > 0, f"README.md:{step.line}: `{step.text}` did not start:\n{log_path.read_text()}"
    return proc


def _stop(proc: "subprocess.Popen[bytes]") -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_readme_has_no_unrun_shell_blocks() -> None:
    steps = walkthrough(README)  # raises on a ```sh block
    assert any(isinstance(s, Command) for s in steps)
    assert any(isinstance(s, Snippet) for s in steps)


def test_output_lines_match_in_order_with_ellipses() -> None:
    actual = "started acme-01\n  acme-01   identify   an.li\n"
    assert missing_output(["started acme-01", "acme-01 identify ... an.li"], actual) is None
    assert missing_output(["acme-01 identify", "started acme-01"], actual) == "started acme-01"


def test_the_venv_has_the_dealflow_command() -> None:
    assert shutil.which("dealflow", path=str(ROOT / ".venv" / "bin")), "pip install -e . installs it"
