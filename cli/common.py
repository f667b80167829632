"""What the command modules share: the consoles, deferred async commands, opening the app, and
the option types (dates, amounts, facts) with their usage errors."""

import functools
import getpass
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console

from app.bootstrap import Dealflow, open_dealflow
from app.deal_client import DealClient
from app.errors import BadInput
from cli.render_deals import print_request_id, print_state
from domain.commands import Command
from domain.errors import RuleViolation
from domain.inputs import check_actor
from domain.opportunity import OpportunityState
from runtime.settings import Settings

console = Console(highlight=False)  # results: stdout
errors = Console(stderr=True, highlight=False)  # refusals, errors, progress: stderr

P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)
Deferred = Callable[[], Awaitable[int | None]]

# Typer runs a command's function synchronously while it parses; our commands are coroutines
# that must run in the caller's event loop (tests drive a worker in that same loop). So parsing
# only records the call here, and `cli.main.main` awaits it once parsing is done.
_calls: ContextVar[list[Deferred]] = ContextVar("dealflow_cli_calls")


def deferred(command: Callable[P, Awaitable[int | None]]) -> Callable[P, None]:
    """Make an async command a Typer command; it may return an exit code (None means 0)."""

    @functools.wraps(command)
    def record(*args: P.args, **kwargs: P.kwargs) -> None:
        _calls.get().append(lambda: command(*args, **kwargs))

    return record


def collect_calls() -> list[Deferred]:
    calls: list[Deferred] = []
    _calls.set(calls)
    return calls


@asynccontextmanager
async def open_app() -> AsyncIterator[Dealflow]:
    async with open_dealflow(settings_from_env()) as app:
        yield app


def settings_from_env() -> Settings:
    """The settings; a variable with a value that can never work is a usage error (exit 2)."""
    try:
        return Settings.from_env()
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise BadInput(f"configuration: {problems}") from None


def build(model: type[M], **fields: Any) -> M:
    """A domain command from the options; a value it rejects is the user's input to fix. A command
    records who sent it: from this command line, `cli:<login name>` (`cli_actor`)."""
    if issubclass(model, Command):
        fields.setdefault("actor", cli_actor())
    try:
        return model(**fields)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in err.errors())
        raise BadInput(problems) from None


def cli_actor() -> str:
    """Who acts from this command line: `cli:` and the login name (just `cli` for a name that is no
    person's form, or no name at all, as in some containers). The command line talks to Temporal
    directly, so this is what its operator says, not a proven identity (the HTTP API proves one)."""
    try:
        return check_actor(f"cli:{getpass.getuser()}") or "cli"
    except (KeyError, OSError, RuleViolation):
        return "cli"


def parse_datetime(text: str) -> datetime:
    """An ISO date or time; without a zone it is UTC. Always returned in UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO date: {text!r} (e.g. 2026-03-31)") from None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO date: {text!r} (e.g. 2026-03-31)") from None


def parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise typer.BadParameter(f"not a finite number: {text!r}")
    return value


def parse_fact(text: str) -> str:
    """A KEY=VALUE fact, checked while parsing (split with `facts`)."""
    key, sep, _ = text.partition("=")
    if not sep or not key:
        raise typer.BadParameter(f"facts are KEY=VALUE, got {text!r}")
    return text


def facts(texts: list[str] | None) -> dict[str, str]:
    return dict(text.split("=", 1) for text in texts or [])


# Options several commands share, spelled once.
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
PipelineOption = Annotated[str | None, typer.Option(help="one pipeline (default: all)")]
# Opportunities chosen by when they were opened (reconcile, export).
OpenedFrom = Annotated[
    datetime | None,
    typer.Option("--from", parser=parse_datetime, metavar="DATE", help="opportunities opened from this day"),
]
OpenedTo = Annotated[
    datetime | None,
    typer.Option(
        "--to", parser=parse_datetime, metavar="DATE", help="... and before this one (default: now)"
    ),
]
RequestId = Annotated[
    str | None,
    typer.Option(
        "--request-id",
        metavar="ID",
        help="this command's idempotency key: sent again with the same id (after a timeout, an"
        " unreachable server, a lost answer) it is applied at most once and answers as the first time"
        " (default: a new one, printed on stderr)",
    ),
]


async def on_deal(rid: str | None, command: Callable[[DealClient, str], Awaitable[OpportunityState]]) -> None:
    """Run one command on a deal under its request id, then show the deal as it stands after it."""
    request = request_id(rid)
    async with open_app() as app:
        print_state(await command(await app.deals(), request), console)


def request_id(given: str | None) -> str:
    """The command's request id: the one given, or a new one printed on stderr first, so a user
    whose command met an outage (or whose terminal died) can retry it safely."""
    if given is not None:
        if not given.strip():
            raise BadInput("--request-id must not be empty")
        return given
    new = str(uuid.uuid4())
    print_request_id(new, errors)
    return new
