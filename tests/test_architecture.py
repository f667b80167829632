"""The house drawn from the imports: each folder imports only the rooms below it, and no module
imports itself back through others. Checked on the source, so a new import that runs upward (the
domain reaching for the database, the application layer for the command line) fails here first."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each folder may import besides itself. Lower rooms never import higher ones.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "workflows": {"domain"},
    "store": {"domain"},
    "reports": {"domain", "store"},
    "activities": {"domain", "workflows", "store", "reports"},
    "runtime": {"domain", "workflows", "activities", "store"},
    "app": {"domain", "workflows", "store", "reports", "runtime"},
    "web": {"domain", "store", "reports", "runtime", "app"},
    "api": {"domain", "store", "reports", "runtime", "app", "web"},
    "demo": {"domain", "workflows", "store", "reports", "runtime", "app"},
    "cli": {"domain", "workflows", "store", "reports", "runtime", "app", "demo", "api", "web"},
    "bench": {"domain", "workflows", "activities", "store", "reports", "runtime", "app"},
    "worker": {"cli", "runtime"},
    "starter": {"cli"},
}
PACKAGES = set(ALLOWED)
# The domain is pure: no engine, no database, no I/O libraries.
DOMAIN_THIRD_PARTY = {"pydantic"}
MAX_LINES = 330


def _modules() -> dict[str, Path]:
    found = {p.stem: p for p in ROOT.glob("*.py") if p.stem in PACKAGES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _internal(path: Path) -> set[str]:
    return {name for name in _imports(path) if name in MODULES}


def test_the_house_has_its_rooms() -> None:
    assert {m.split(".")[0] for m in MODULES} == PACKAGES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_only_downward(module: str) -> None:
    home = module.split(".")[0]
    upward = sorted(
        name for name in _internal(MODULES[module]) if name.split(".")[0] not in ALLOWED[home] | {home}
    )
    assert upward == [], f"{module} imports {upward}; {home}/ may import only {sorted(ALLOWED[home])}"


def test_no_import_cycles() -> None:
    graph = {m: _internal(p) - {m} for m, p in MODULES.items()}
    # A package's __init__ is imported by its modules implicitly; count only explicit edges.
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_domain_is_pure() -> None:
    stdlib = set(__import__("sys").stdlib_module_names)
    for module, path in MODULES.items():
        if module.split(".")[0] != "domain":
            continue
        foreign = {
            name.split(".")[0]
            for name in _imports(path)
            if name.split(".")[0] not in stdlib | DOMAIN_THIRD_PARTY | {"domain"}
        }
        assert foreign == set(), f"{module} imports {sorted(foreign)}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by what its parts do"
