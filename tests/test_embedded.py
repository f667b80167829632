"""The embedded PostgreSQL is stopped by the last process that used it, even after one was killed."""

import json
import subprocess
import sys
from pathlib import Path

from runtime.embedded import _forget_dead_handles


def test_handles_of_dead_processes_are_forgotten(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([dead.pid, 1]))  # pid 1 is alive
    _forget_dead_handles(tmp_path)
    assert json.loads(handles.read_text()) == [1]


def test_no_handle_file_is_fine(tmp_path: Path) -> None:
    _forget_dead_handles(tmp_path)
    assert not (tmp_path / ".handle_pids.json").exists()
