"""Reads README.md into the steps a new user would take, so tests/test_readme.py can take them.

Runnable blocks are fenced `console` (shell) and `python`. In a console block each `$ ` line is a
command (a trailing `\\` continues it on the next line) and the lines after it, up to the next `$ `,
are output that must appear, in order; `...` stands for anything. A command ending in
`# exits N` must exit with N (else 0). Commands that start a long-running server (`make worker`)
run in the background for the rest of the walkthrough. Any other shell fence (`sh`, `bash`) is an
error: a command nobody runs is a command that drifts.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = {"console", "python"}
NOT_COMMANDS = {"", "text", "toml", "json", "csv", "xml"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_EXITS = re.compile(r"\s+#\s*exits (\d+)\b.*$")


@dataclass
class Command:
    line: int  # in README.md, for messages
    text: str  # as a shell reads it, comments removed
    exit_code: int = 0
    expected: list[str] = field(default_factory=list)


@dataclass
class Snippet:
    line: int
    code: str


Step = Command | Snippet


def _strip_comment(command: str) -> str:
    """The command without a trailing `# …` comment (a `#` after a blank, outside quotes)."""
    quote = None
    for i, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip()
    return command.rstrip()


def _blocks(text: str) -> list[tuple[str, int, list[str]]]:
    blocks: list[tuple[str, int, list[str]]] = []
    lang: str | None = None
    start, body = 0, list[str]()
    for n, line in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(line)
        if fence and lang is None:
            lang, start, body = fence.group(1), n, []
        elif line.startswith("```") and lang is not None:
            blocks.append((lang, start, body))
            lang = None
        elif lang is not None:
            body.append(line)
    if lang is not None:
        raise ValueError(f"README.md:{start}: a fence that never closes")
    return blocks


def _commands(start: int, body: list[str]) -> list[Command]:
    commands: list[Command] = []
    pending: list[str] = []
    for offset, raw in enumerate(body, start=1):
        if raw.startswith("$ ") or pending:
            part = raw[2:] if raw.startswith("$ ") and not pending else raw
            if part.rstrip().endswith("\\"):
                pending.append(part.rstrip()[:-1].rstrip())
                continue
            whole = " ".join([*pending, part.strip()])
            pending = []
            exits = _EXITS.search(whole)
            code = int(exits.group(1)) if exits else 0
            commands.append(Command(start + offset, _strip_comment(whole).strip(), code))
        elif raw.strip() and commands:
            commands[-1].expected.append(raw.strip())
        elif raw.strip():
            raise ValueError(f"README.md:{start + offset}: output before any `$ ` command")
    return commands


def walkthrough(readme: Path) -> list[Step]:
    steps: list[Step] = []
    for lang, start, body in _blocks(readme.read_text(encoding="utf-8")):
        if lang == "console":
            steps += _commands(start, body)
        elif lang == "python":
            steps.append(Snippet(start, "\n".join(body)))
        elif lang not in NOT_COMMANDS:
            raise ValueError(f"README.md:{start}: a ```{lang} block: use console (run) or text (shown)")
    return steps


def missing_output(expected: list[str], actual: str) -> str | None:
    """The first expected line not found in order in `actual` (None when all are), where `...`
    matches anything and runs of blanks compare equal."""
    squeeze = " ".join
    lines = [squeeze(line.split()) for line in actual.splitlines()]
    at = 0
    for want in expected:
        if want == "...":
            continue
        target = squeeze(want.split())
        pattern = re.compile(".*?".join(re.escape(part.strip()) for part in target.split("...")))
        while at < len(lines) and not pattern.search(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None
