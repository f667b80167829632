"""The outbox delivered: notifications made by real workflows (time-skipping server) go out by mail
to a real SMTP server and by webhook to a real HTTP server, as each person wants; failures are
retried with backoff, then dead-lettered and listed; a dispatcher killed mid-send loses nothing."""

import asyncio
import hashlib
import hmac
import json
import os
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.outbox_channels import SIGNATURE_HEADER
from app.deal_client import DealClient
from cli.main import main
from domain.commands import AdvanceStage, RequestDiscount
from domain.people import Contact, Directory
from domain.pipeline import load_catalog
from domain.stages import Stage
from runtime.notify_settings import NotifySettings
from runtime.outbox_dispatcher import Dispatcher
from store import outbox
from store.event_store import EventStore
from store.outbox_delivery import outbox as outbox_entries
from tests.factories import advance_to, open_cmd
from tests.notify_servers import Mailbox, Receiver, links_in, mailbox, receiver

__all__ = ["mailbox", "receiver"]  # the fixtures, used by name
ROOT = Path(__file__).resolve().parent.parent
SECRET = "webhook-secret-for-tests"
SHIPPED = load_catalog().people
DIRECTORY = Directory(
    people=SHIPPED.people,
    managers=SHIPPED.managers,
    contacts=(
        Contact(name="an.li", email="an.li@example.com", notify=("email", "webhook")),
        Contact(name="mei.chen", email="mei.chen@example.com", notify=("email",)),
        Contact(name="hua.zhang", email="hua.zhang@example.com", notify=("webhook",)),
    ),
)


def settings(mailbox: Mailbox | None, receiver: Receiver | None, **kw: object) -> NotifySettings:
    given: dict[str, object] = {
        "backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "public_url": "http://dealflow.test",
    }
    if mailbox is not None:
        given |= {"smtp_host": mailbox.host, "smtp_port": mailbox.port, "smtp_tls": "none"}
        given |= {"smtp_from": "dealflow@example.com"}
    if receiver is not None:
        given |= {"webhook_url": receiver.url, "webhook_secret": SECRET}
    return NotifySettings.model_validate(given | kw)


async def until(dispatcher: Dispatcher, done: Callable[[], Awaitable[bool]], rounds: int = 300) -> None:
    for _ in range(rounds):
        await dispatcher.run_once()
        if await done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the dispatcher did not get there")


async def status(store: EventStore, key: str) -> str:
    return next(e.status for e in await outbox_entries(store) if e.notice.key == key)


def verifies(body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


async def test_a_reminder_and_an_approval_request_reach_people_by_mail_and_webhook(
    deals: DealClient,
    store: EventStore,
    time_skipping_env: WorkflowEnvironment,
    mailbox: Mailbox,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    oid = f"ntf-{uuid.uuid4().hex[:8]}"
    await deals.open(open_cmd(oid, owner="an.li", amount=Decimal(120000)))
    await deals.advance(oid, AdvanceStage(to_stage=Stage.CONTACT))
    await time_skipping_env.sleep(timedelta(days=10, hours=1))  # past the contact stage's SLA
    for stage in (Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION):
        await deals.advance(oid, advance_to(stage))
    await deals.request_discount(oid, RequestDiscount(discount=Decimal(12), comment="rival quote"))
    rows = {(e.notice.recipient, e.notice.kind): e.notice for e in await outbox_entries(store)}
    reminder = rows[("an.li", "StallReminded")]
    assert {("mei.chen", "DiscountRequested"), ("hua.zhang", "DiscountRequested")} <= set(rows)

    async with Dispatcher(store, DIRECTORY, settings(mailbox, receiver), tmp_path) as dispatcher:
        keys = [
            reminder.key,
            rows[("mei.chen", "DiscountRequested")].key,
            rows[("hua.zhang", "DiscountRequested")].key,
        ]

        async def all_delivered() -> bool:
            return [await status(store, k) for k in keys] == ["delivered"] * 3

        await until(dispatcher, all_delivered)

    # an.li wants both: the mail and the webhook
    (mail,) = mailbox.to("an.li@example.com")
    assert mail["Subject"] == f"[dealflow] Reminder: {oid}"
    assert mail["From"] == "dealflow@example.com"
    assert mail["X-Dealflow-Key"] == reminder.key
    assert "please follow up" in mail.get_content()
    hooks = {r.headers["idempotency-key"]: r for r in receiver.requests}
    hook = hooks[reminder.key]
    assert verifies(hook.body, hook.headers[SIGNATURE_HEADER.lower()])
    assert not verifies(hook.body + b" ", hook.headers[SIGNATURE_HEADER.lower()])
    sent = json.loads(hook.body)
    assert (sent["kind"], sent["recipient"], sent["stream_id"]) == ("StallReminded", "an.li", oid)
    # mei.chen, by mail only: the approval request with its two links
    (asked,) = mailbox.to("mei.chen@example.com")
    assert asked["Subject"] == f"[dealflow] Discount approval requested: {oid}"
    assert "12% discount on 120000" in asked.get_content()
    links = links_in(asked)
    assert set(links) == {"approve", "reject"}
    assert all(link.startswith("http://dealflow.test/v1/approvals/links/") for link in links.values())
    assert rows[("mei.chen", "DiscountRequested")].key not in hooks
    # hua.zhang (a director may step in), by webhook only: the same links, in the JSON
    hua = json.loads(hooks[rows[("hua.zhang", "DiscountRequested")].key].body)
    assert set(hua["links"]) == {"approve", "reject", "expires_at"}
    assert mailbox.to("hua.zhang@example.com") == []


async def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    store: EventStore,
    receiver: Receiver,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = f"evt-{uuid.uuid4().hex[:8]}"
    assert await outbox.put(store, key, "bo.wang", "StallReminded", "deal-9", "deal-9 is idle")
    receiver.statuses = [500, 503, 500, 500]
    given = settings(None, receiver, max_attempts=3)
    assert [given.backoff(n) for n in (1, 2, 3, 4)] == [0.01, 0.02, 0.04, 0.05]  # doubling, capped
    async with Dispatcher(store, Directory(), given, tmp_path) as dispatcher:

        async def failed() -> bool:
            return await status(store, key) == "failed"

        await until(dispatcher, failed)
        await dispatcher.run_once()  # dead: never tried again
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [key] * 3
    assert len({r.body for r in receiver.requests}) == 1  # the same body every time
    (entry,) = [e for e in await outbox_entries(store, "failed") if e.notice.key == key]
    (delivery,) = entry.deliveries
    assert (delivery.channel, delivery.status, delivery.attempts) == ("webhook", "failed", 3)
    assert "answered 500" in (delivery.last_error or "")

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DEALFLOW_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    assert await main(["notifications", "--failed", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(n["key"], n["status"]) for n in listed] == [(key, "failed")]
    assert listed[0]["deliveries"][0]["attempts"] == 3
    assert await main(["notifications", "--failed"]) == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("failed", "answered 500", "deal-9"))
    assert await main(["notifications", "--pending", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


DISPATCHER = """
import asyncio, sys
from pathlib import Path
from domain.people import Directory
from runtime.notify_settings import NotifySettings
from runtime.outbox_dispatcher import Dispatcher
from store.event_store import EventStore

async def main() -> None:
    store = await EventStore.open(sys.argv[1])
    async with Dispatcher(store, Directory(), NotifySettings(), Path(sys.argv[2])) as dispatcher:
        await dispatcher.run()

asyncio.run(main())
"""


async def test_a_dispatcher_killed_mid_delivery_loses_nothing(
    store: EventStore, receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    """The first dispatcher (a process of its own) is SIGKILLed while the receiver holds its
    request; the next one sends the row again when the lease runs out, with the same key."""
    key = f"evt-{uuid.uuid4().hex[:8]}"
    receiver.hold = asyncio.Event()
    env = {
        **os.environ,
        "DEALFLOW_WEBHOOK_URL": receiver.url,
        "DEALFLOW_WEBHOOK_SECRET": SECRET,
        "DEALFLOW_NOTIFY_LEASE_SECONDS": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DISPATCHER, database_url, str(tmp_path), env=env, cwd=ROOT
    )
    try:
        assert await outbox.put(store, key, "dai.liu", "RevisitDue", "deal-7.after-sales", "revisit 1")
        async with asyncio.timeout(60):
            await receiver.got_one.wait()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert await status(store, key) == "pending"  # sent, never acknowledged
    receiver.hold.set()
    async with Dispatcher(store, Directory(), settings(None, receiver, lease_s=1), tmp_path) as dispatcher:

        async def delivered() -> bool:
            return await status(store, key) == "delivered"

        await until(dispatcher, delivered, rounds=500)
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [key, key]
    assert receiver.requests[0].body == receiver.requests[1].body
    (entry,) = [e for e in await outbox_entries(store) if e.notice.key == key]
    assert [(d.status, d.attempts) for d in entry.deliveries] == [("delivered", 2)]
