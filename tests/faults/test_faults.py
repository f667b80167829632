"""The fault suite (`make faults`): a team keeps working deals while the suite breaks what they run on,
one fault after another; afterwards every deal has finished and every stream holds exactly the
events of its commands, each once, none lost, and `reconcile` agrees with Temporal's histories.

Faults: kill -9 of the worker; kill -9 and restart of Temporal; PostgreSQL stopped for 30 s; a
worker started while PostgreSQL is down; client connections dropped with commands in flight. Each
fault's stall (the longest stretch in which no command completed) is printed.
"""

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from temporalio.client import Client

from app.deal_client import DealClient
from app.errors import Refused
from app.reconcile import reconcile
from domain.commands import AdvanceStage, DecideContract, SubmitContract
from domain.opportunity import OpportunityState
from domain.pipeline import load_catalog
from domain.stages import STAGE_ORDER, Stage
from runtime.temporal_client import connect
from store.event_store import EventStore
from tests.factories import ALL_FACTS, good_contract, open_cmd
from tests.faults.servers import DevServer, DroppingProxy, PrivateCluster, WorkerProcess

T = TypeVar("T")
DRIVERS = 6
GIVE_UP_AFTER_S = 180  # a command that cannot complete in three minutes is a failure, not a stall
# What one lifecycle records, in order: nothing twice, nothing missing.
LIFECYCLE = [
    "OpportunityOpened",
    "StageAdvanced",  # contact
    "ExpectedCloseDateSet",  # the first move's facts name the close date
    *["StageAdvanced"] * 3,  # needs_analysis .. negotiation
    "ContractSubmitted",
    "ContractChecked",
    "LegalDecided",
    *["StageAdvanced"] * 2,  # deal, after_sales
]


@dataclass
class Fault:
    name: str
    started: float = 0.0
    ended: float = 0.0  # when the suite undid it (the server is back)
    stall: float = 0.0


@dataclass
class Team:
    deals: DealClient
    completed: list[float] = field(default_factory=list)  # when each command completed
    opened: list[str] = field(default_factory=list)
    retries: int = 0

    async def persist(self, call: Callable[..., Awaitable[T]]) -> T:
        """Run a command until it completes, retrying infrastructure failures with the SAME request
        id, as a careful client does: a retry of a command that took effect records nothing new."""
        request_id = uuid.uuid4().hex
        deadline = time.monotonic() + GIVE_UP_AFTER_S
        delay = 0.2
        while True:
            try:
                result = await call(request_id=request_id)
            except Refused:
                raise  # a rule refused it: the workload is wrong, or a retry was applied twice
            except Exception:
                if time.monotonic() > deadline:
                    raise
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self.completed.append(time.monotonic())
            return result

    async def work_one_deal(self) -> None:
        oid = f"f-{uuid.uuid4().hex[:10]}"
        self.opened.append(oid)
        await self.persist(partial(self.deals.open, open_cmd(oid)))
        state: OpportunityState | None = None
        for stage in STAGE_ORDER[1:]:
            if stage is Stage.DEAL:
                assert state is not None
                submit = SubmitContract(contract=good_contract(state))
                await self.persist(partial(self.deals.submit_contract, oid, submit))
                sign = DecideContract(by="lin.ma")
                await self.persist(partial(self.deals.decide_contract, oid, sign))
            move = AdvanceStage(to_stage=stage, facts=ALL_FACTS)
            state = await self.persist(partial(self.deals.advance, oid, move))
            await asyncio.sleep(0.05)


Servers = tuple[PrivateCluster, DevServer, WorkerProcess, DroppingProxy]


@pytest.fixture
async def servers(
    tmp_path: Path,
) -> AsyncIterator[Servers]:
    cluster = PrivateCluster()
    dev = DevServer(tmp_path)
    worker = WorkerProcess(tmp_path, dev.address, cluster.url)
    proxy = DroppingProxy(dev.port)
    try:
        await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(dev.start)
        await proxy.start()
        worker.start()
        yield cluster, dev, worker, proxy
    finally:
        worker.stop()
        await proxy.close()
        dev.stop()
        cluster.remove()


async def _inject(
    faults: list[Fault], cluster: PrivateCluster, dev: DevServer, worker: WorkerProcess, proxy: DroppingProxy
) -> None:
    async def fault(name: str, undo: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(4)  # let the team work between faults
        f = Fault(name, started=time.monotonic())
        await undo()
        f.ended = time.monotonic()
        faults.append(f)

    async def kill_worker() -> None:
        worker.kill()
        await asyncio.sleep(1)
        worker.start()

    async def kill_temporal() -> None:
        dev.kill()
        await asyncio.sleep(2)
        await asyncio.to_thread(dev.start)

    async def stop_postgres() -> None:
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(30)
        await asyncio.to_thread(cluster.start)

    async def worker_starts_without_postgres() -> None:
        worker.stop()
        await asyncio.to_thread(cluster.stop)
        worker.start()
        await asyncio.sleep(8)
        assert worker.running, "the worker gave up while PostgreSQL was down"
        await asyncio.to_thread(cluster.start)

    async def drop_connections() -> None:
        for _ in range(3):
            proxy.drop()
            await asyncio.sleep(1)

    await fault("worker kill -9", kill_worker)
    await fault("Temporal kill -9 and restart", kill_temporal)
    await fault("PostgreSQL stopped 30 s", stop_postgres)
    await fault("worker started while PostgreSQL is down", worker_starts_without_postgres)
    await fault("client connections dropped mid-command", drop_connections)
    await asyncio.sleep(3)


async def _connect_when_healthy(address: str) -> Client:
    """The dev server listens a moment before its frontend answers."""
    async with asyncio.timeout(30):
        while True:
            try:
                return await connect(address)
            except RuntimeError:
                await asyncio.sleep(0.2)


def _stall(fault: Fault, completed: list[float], until: float) -> float:
    """The longest stretch without a completed command, from the fault's start to `until`."""
    times = [fault.started, *sorted(t for t in completed if fault.started < t < until), until]
    return max(b - a for a, b in itertools.pairwise(times))


@pytest.mark.slow
async def test_the_team_works_through_every_fault(
    servers: Servers,
) -> None:
    cluster, dev, worker, proxy = servers
    team = Team(DealClient(await _connect_when_healthy(proxy.address), load_catalog()))
    faults: list[Fault] = []
    injecting = asyncio.create_task(_inject(faults, cluster, dev, worker, proxy))

    async def driver() -> None:
        while not injecting.done():
            await team.work_one_deal()

    await asyncio.wait_for(asyncio.gather(injecting, *(driver() for _ in range(DRIVERS))), timeout=600)

    direct = await _connect_when_healthy(dev.address)
    store = await EventStore.open(cluster.url)
    try:
        for oid in team.opened:  # every deal finished: its workflow completed in after_sales
            final = await direct.get_workflow_handle(oid, result_type=OpportunityState).result()
            assert final.stage is Stage.AFTER_SALES
        for oid in team.opened:  # every stream holds its commands' events, each once, in order
            events = await store.read_stream(oid)
            assert [e.type for e in events] == LIFECYCLE, oid
            assert [e.version for e in events] == list(range(1, len(LIFECYCLE) + 1)), oid
        checks = await reconcile(direct, store, team.opened)
        assert [c.stream for c in checks if not c.ok] == []
    finally:
        await store.close()

    ends = [f.started for f in faults[1:]] + [time.monotonic()]
    print(
        f"\n{len(team.opened)} deals, {len(team.completed)} commands ({team.retries} retries):"
        " 0 lost, 0 doubled"
    )
    for fault, until in zip(faults, ends, strict=True):
        fault.stall = _stall(fault, team.completed, until)
        print(f"  {fault.name:<42} lasted {fault.ended - fault.started:5.1f} s, stall {fault.stall:5.1f} s")
    assert len(faults) == 5
    assert all(f.stall < GIVE_UP_AFTER_S for f in faults)
