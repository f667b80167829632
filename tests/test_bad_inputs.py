"""Nothing a caller sends can wedge a deal: bad input through the command line and the Python
client, on a real worker (time-skipping Temporal, PostgreSQL). Every case (tests/bad_input_cases.py)
is refused with its exit code (3 for a rule, 2 for usage, 4 for an unknown id) or its `Refused` rule,
says why on one line of stderr with no traceback, leaves the stored events and the workflow's state
as they were, and the next valid command on the same deal succeeds.

One deal per group of cases (a new lead, identify, negotiation with a pending discount, a won deal
whose first revisit is due), so the suite stays quick.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pydantic import ValidationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.errors import NotFound, Refused
from cli.main import main
from domain.after_sales import OpenRenewal, relationship_id
from domain.commands import AdvanceStage, LogTouch, OpenOpportunity, RequestDiscount
from domain.pipeline import load_catalog
from domain.stages import Stage
from runtime.settings import TASK_QUEUE
from runtime.temporal_client import create_worker
from store.event_store import EventStore
from tests import bad_input_cases as cases
from tests.factories import ALL_FACTS, end_relationship, relationship_when, through_all_stages

RUN = uuid.uuid4().hex[:6]
_numbers = iter(range(10**6))


def fresh_id() -> str:
    return f"bad-{RUN}-{next(_numbers)}"


class World:
    """The module's worker, client, store, and one deal per group."""

    def __init__(self, env: WorkflowEnvironment, store: EventStore, deals: DealClient) -> None:
        self.env, self.store, self.deals = env, store, deals
        self.started: list[str] = []
        self.groups: dict[str, str] = {}

    async def open(self, oid: str | None = None, amount: int = 120_000) -> str:
        oid = oid or fresh_id()
        cmd = OpenOpportunity(
            opportunity_id=oid, pipeline="software", owner="an.li", company="Acme",
            contact_person="Wang Li", source="web", amount=Decimal(amount),
        )  # fmt: skip
        await self.deals.open(cmd)
        self.started.append(oid)
        return oid

    async def group(self, name: str, setup: Callable[[str], Awaitable[None]]) -> str:
        """The group's deal, set up once for the module."""
        if name not in self.groups:
            oid = await self.open()
            await setup(oid)
            self.groups[name] = oid
        return self.groups[name]

    async def snapshot(self, oid: str, after_sales: bool) -> tuple[object, list[str]]:
        """The deal's state and its stored events, once the store holds every event of the state
        (an opening or a timer's event is saved a moment after the state has it)."""
        stream = relationship_id(oid) if after_sales else oid
        async with asyncio.timeout(10):
            while True:
                state = await (self.deals.relationship(oid) if after_sales else self.deals.show(oid))
                stored = [e.event_id for e in await self.store.read_stream(stream)]
                if len(stored) >= state.version:
                    return state, stored
                await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def world(time_skipping_env: WorkflowEnvironment, database_server: str) -> AsyncIterator[World]:
    schema = f"t_bad_{RUN}"
    async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
        await conn.execute(f"CREATE SCHEMA {schema}")
    url = make_conninfo(database_server, options=f"-c search_path={schema}")
    store = await EventStore.open(url)
    client = time_skipping_env.client
    world = World(time_skipping_env, store, DealClient(client, load_catalog(), TASK_QUEUE))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
        env.setenv("TEMPORAL_NAMESPACE", client.namespace)
        env.setenv("DATABASE_URL", url)
        async with create_worker(client, store, TASK_QUEUE):
            yield world
            for oid in world.groups.values():  # end the relationship while the worker runs
                with contextlib.suppress(Refused):
                    world.started += (await world.deals.relationship(oid)).renewals
                await end_relationship(world.deals, client, oid, by="mei.chen")
        # No workflow may wait on a timer once its worker is gone: the time-skipping server would
        # stop skipping for every later test.
        for wid in world.started:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(wid).terminate("test finished")
    await store.close()
    async with await psycopg.AsyncConnection.connect(database_server, autocommit=True) as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")


async def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run the command line; its exit code and stderr's lines (the request id it prints aside)."""
    capsys.readouterr()
    code = await main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    if code != 0:
        assert out == "", out
    return code, [line for line in err.splitlines() if not line.startswith("request id:")]


async def never_opened(world: World, oid: str, rule: str) -> None:
    """No event, no state: unknown, or (a lead only the worker could judge: its pipeline) a
    workflow that ended refusing by the rule before it recorded anything."""
    assert await world.store.read_stream(oid) == []
    try:
        await world.deals.show(oid)
    except NotFound:
        return
    except Exception as err:  # whatever the query raises, it must name the rule
        world.started.append(oid)
        said = str(err)
    else:
        pytest.fail(f"{oid} has a state")
    assert f"[{rule}]" in said, said


def check_refusal(code: int, err: list[str], expected: cases.Expected) -> None:
    if isinstance(expected, str):
        assert code == 3, err
        assert len(err) == 1, err  # one line: a script reads one error per line
        assert err[0].startswith(f"refused [{expected}] "), err
    else:
        assert (code, expected[1] in "\n".join(err)) == (expected[0], True), err


async def unchanged_then_valid(
    world: World, oid: str, after_sales: bool, attempt: Callable[[], Awaitable[None]]
) -> None:
    before = await world.snapshot(oid, after_sales)
    await attempt()
    assert await world.snapshot(oid, after_sales) == before  # no event, no change of state
    if after_sales:  # the next valid command goes through
        await world.deals.open_renewal(oid, OpenRenewal(amount=Decimal(1000), by="an.li"))
    else:
        await world.deals.log_touch(oid, LogTouch(kind="call", by="an.li", note="after a refusal"))


async def _to_identify(oid: str) -> None:
    return None


async def _to_negotiation(world: World, oid: str) -> None:
    for stage in (Stage.CONTACT, Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION):
        await world.deals.advance(oid, AdvanceStage(to_stage=stage, facts=ALL_FACTS))
    await world.deals.request_discount(oid, RequestDiscount(discount=Decimal(12)))  # a manager's to decide


async def _won_with_revisit_due(world: World, oid: str) -> None:
    await through_all_stages(world.deals, oid)
    await relationship_when(world.deals, oid, lambda s: s.version >= 1)
    await world.env.sleep(timedelta(days=8))  # the first revisit comes due a week after the win
    await relationship_when(world.deals, oid, lambda s: bool(s.revisits))


async def group_deal(world: World, name: str) -> str:
    setups: dict[str, Callable[[str], Awaitable[None]]] = {
        "identify": _to_identify,
        "negotiation": lambda oid: _to_negotiation(world, oid),
        "after_sales": lambda oid: _won_with_revisit_due(world, oid),
    }
    return await world.group(name, setups[name])


# --- the command line -------------------------------------------------------------------------


def _ids(table: list[Any]) -> list[str]:
    return [case[0] for case in table]


@pytest.mark.parametrize(("name", "argv", "expected"), cases.START, ids=_ids(cases.START))
async def test_cli_start(
    world: World, capsys: pytest.CaptureFixture[str], name: str, argv: list[str], expected: cases.Expected
) -> None:
    oid = fresh_id()
    code, err = await cli([a.replace("{id}", oid) for a in argv], capsys)
    check_refusal(code, err, expected)
    await never_opened(world, oid, expected if isinstance(expected, str) else "known-opportunity")
    valid = fresh_id()  # the same start, fixed, goes through
    assert (await cli(cases.lead(valid), capsys))[0] == 0
    world.started.append(valid)
    assert (await world.deals.show(valid)).company == "Acme"


@pytest.mark.parametrize(
    ("group", "name", "argv", "expected"),
    [("identify", *c) for c in cases.IDENTIFY]
    + [("negotiation", *c) for c in cases.NEGOTIATION]
    + [("after_sales", *c) for c in cases.AFTER_SALES],
    ids=[f"identify-{n}" for n in _ids(cases.IDENTIFY)]
    + [f"negotiation-{n}" for n in _ids(cases.NEGOTIATION)]
    + [f"after_sales-{n}" for n in _ids(cases.AFTER_SALES)],
)
async def test_cli_deal(
    world: World, capsys: pytest.CaptureFixture[str], group: str, name: str, argv: list[str],
    expected: cases.Expected,
) -> None:  # fmt: skip
    oid = await group_deal(world, group)

    async def attempt() -> None:
        code, err = await cli([a.replace("{id}", oid) for a in argv], capsys)
        check_refusal(code, err, expected)

    await unchanged_then_valid(world, oid, group == "after_sales", attempt)


# --- the Python client --------------------------------------------------------------------------


async def _client_refusal(make: Callable[[], cases.Make], deals: DealClient, oid: str, rule: str) -> None:
    if rule == cases.BUILD:
        with pytest.raises(ValidationError):
            await make()(deals, oid)
        return
    with pytest.raises(Refused) as err:
        await make()(deals, oid)
    assert not isinstance(err.value, NotFound)
    assert (err.value.rule, "\n" in err.value.message) == (rule, False), err.value


@pytest.mark.parametrize(("name", "make", "rule"), cases.CLIENT_START, ids=_ids(cases.CLIENT_START))
async def test_client_start(world: World, name: str, make: Callable[[], cases.Make], rule: str) -> None:
    oid = fresh_id()
    await _client_refusal(make, world.deals, oid, rule)
    await never_opened(world, oid, rule)


@pytest.mark.parametrize(
    ("group", "name", "make", "rule"),
    [("identify", *c) for c in cases.CLIENT_DEAL]
    + [("negotiation", *c) for c in cases.CLIENT_NEGOTIATION]
    + [("after_sales", *c) for c in cases.CLIENT_AFTER_SALES],
    ids=[f"identify-{n}" for n in _ids(cases.CLIENT_DEAL)]
    + [f"negotiation-{n}" for n in _ids(cases.CLIENT_NEGOTIATION)]
    + [f"after_sales-{n}" for n in _ids(cases.CLIENT_AFTER_SALES)],
)
async def test_client_deal(
    world: World, group: str, name: str, make: Callable[[], cases.Make], rule: str
) -> None:
    oid = await group_deal(world, group)
    await unchanged_then_valid(
        world, oid, group == "after_sales", lambda: _client_refusal(make, world.deals, oid, rule)
    )


async def test_odd_but_valid_text_is_stored_as_normalised(world: World) -> None:
    """What is refused is refused by name; what is accepted is stored clean: NFC, trimmed."""
    oid = fresh_id()
    await world.deals.open(
        OpenOpportunity(
            opportunity_id=oid, pipeline="software", owner="an.li", company="  Cafe\u0301 Mu\u0308ller\u3000",
            contact_person="王丽 😀", source="مرجع", amount=Decimal("1.2E+5"),
        )
    )  # fmt: skip
    world.started.append(oid)
    state = await world.deals.show(oid)
    assert (state.company, state.contact_person, state.source) == ("Café Müller", "王丽 😀", "مرجع")
    await world.snapshot(oid, after_sales=False)  # once the opening is stored
    (opened,) = await world.store.read_stream(oid)
    assert opened.model_dump(include={"company", "amount"}) == {
        "company": "Café Müller",
        "amount": Decimal(120000),
    }
    assert str(state.amount) == "120000"
