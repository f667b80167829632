"""How long the web app takes to render its heaviest pages, server-side, on the benchmark history:

    python -m bench.web_pages [--size small|full] [--repeat 20]

Starts `dealflow serve` (the HTTP API with the pages under /web) on the bench database (the
`gen-*` history of bench.run, written here if missing), signs in with a session token, and asks
for the dashboard (as of the history's last day, and as of half-way through it) and the pipeline
board `repeat` times each. The figure is the server's own time from the `Server-Timing` header
each page carries (rendering included, the network not); the round trip is shown beside it.
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from app.bootstrap import open_dealflow
from bench.run import DATABASE, SIZES, ensure_history, say
from bench.timing import p50_p95
from runtime.databases import database_on
from runtime.embedded import endpoints
from runtime.settings import Settings
from store.event_store import EventStore

ROOT = Path(__file__).resolve().parent.parent
VIEWER = "hua.zhang"  # a director: every team's deals on the board
TARGET_MS = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _history_span(store: EventStore) -> tuple[datetime, datetime]:
    async with store.pool.connection() as conn:
        cur = await conn.execute("SELECT min(occurred_at), max(occurred_at) FROM events")
        row = await cur.fetchone()
    if row is None or not isinstance(row[0], datetime) or not isinstance(row[1], datetime):
        raise SystemExit("no history in the bench database")
    return row[0], row[1]


async def _server_ms(client: httpx.AsyncClient, path: str) -> tuple[float, float]:
    started = time.perf_counter()
    answer = await client.get(path)
    wall = (time.perf_counter() - started) * 1000
    answer.raise_for_status()
    timing = answer.headers["server-timing"]  # app;dur=12.3
    return float(timing.split("dur=")[1]), wall


async def measure(url: str, repeat: int) -> dict[str, Any]:
    store = await EventStore.open(url)
    try:
        first, last = await _history_span(store)
    finally:
        await store.close()
    data_dir = Path(tempfile.mkdtemp(prefix="dealflow-web-bench-"))
    settings = Settings(database_url=url, data_dir=data_dir, temporal_address="127.0.0.1:1")
    async with open_dealflow(settings) as dealflow:
        token = (await dealflow.identity()).mint_token(VIEWER, 1)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEALFLOW_DATA_DIR": str(data_dir),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
    }
    env.pop("DEALFLOW_DATABASE", None)
    command = [sys.executable, str(ROOT / "starter.py"), "serve", "--port", str(port)]
    server = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # A kept dashboard is answered again while the read models stand still (web/dashboard_data.py):
    # each request of the first kind asks for another day, so every one is computed afresh.
    step = (last - first) / 2 / repeat
    days = [(first + (last - first) / 2 + step * i).date().isoformat() for i in range(repeat)]
    pages: dict[str, list[str]] = {
        "dashboard, computed (a different past day each time)": [f"/web/dashboard?as_of={d}" for d in days],
        "dashboard, kept (the same day again)": [f"/web/dashboard?as_of={days[-1]}"] * repeat,
        "dashboard, today": ["/web/dashboard"] * repeat,
        "board (every open deal)": ["/web/board"] * repeat,
    }
    results: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", cookies={"dealflow_session": token}, timeout=900
        ) as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            say("  warming up (the first page catches the read models up with the history) ...")
            await _server_ms(client, "/web/board")
            for name, paths in pages.items():
                server_ms, wall_ms = [], []
                for path in paths:
                    s, w = await _server_ms(client, path)
                    server_ms.append(s)
                    wall_ms.append(w)
                figures = {**p50_p95(server_ms), "wall_p95_ms": p50_p95(wall_ms)["p95_ms"]}
                results[name] = figures
                verdict = "within" if figures["p95_ms"] < TARGET_MS else "OVER"
                say(
                    f"  {name}: server p50 {figures['p50_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms"
                    f" ({verdict} the {TARGET_MS:.0f} ms target);"
                    f" round trip p95 {figures['wall_p95_ms']:.0f} ms"
                )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    size = SIZES[args.size]
    async with endpoints(Settings.from_env(), temporal=False) as ep:
        url = await database_on(ep.database_url, DATABASE)
        store = await EventStore.open(url)
        try:
            await ensure_history(store, size.history_events)
        finally:
            await store.close()
        say(f"web pages on a {size.history_events:,}-event history, {args.repeat} requests each:")
        await measure(url, args.repeat)


if __name__ == "__main__":
    asyncio.run(main())
