"""The outbox dispatcher: delivers every row of the `notifications` table, by e-mail and webhook, as
each recipient wants (the people directory's `email` and `notify`), in the worker's process.

Why a loop over PostgreSQL and not a Temporal workflow: the state the operators read and the
retries need (attempts, next attempt, last error, delivered or failed) must live in PostgreSQL
anyway (`dealflow notifications` reads it), and the rows are written outside any workflow. A
workflow per notification would keep that state a second time in Temporal's history and need a
signal or a poller to start it; one long-lived poller workflow would need continue-as-new and
would still read the table. The table with a lease is the whole mechanism instead:

- **Durable, at least once**: a delivery is claimed by moving its `next_attempt_at` a lease ahead
  (`FOR UPDATE SKIP LOCKED`, store/outbox_delivery.py) and marked delivered only after the
  receiver accepted it. A worker killed mid-send leaves the claim to run out; then this or another
  worker's dispatcher sends it again, with the same `Idempotency-Key` (webhook) and `Message-ID`
  (mail). Several workers may run dispatchers: a claimed delivery is never held by two.
- **Retries**: a failed attempt is due again after `backoff_s`, doubling each time (at most
  `max_backoff_s`); at `max_attempts`, or at once when the receiver refuses for good (an SMTP 5xx),
  it is dead-lettered (status failed, its last error kept), for `dealflow notifications --failed`.
- **Prompt**: a new row NOTIFYs `dealflow_notifications` (store/outbox.py), which wakes the loop;
  it also wakes when the next retry is due, and every `poll_s` in any case.
- **Routing**: a row becomes one delivery per channel the recipient wants and dealflow can use
  (e-mail needs their address and an SMTP server; the webhook its URL and secret). A row no channel
  reaches is kept, routed, with no delivery (`status` kept).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import structlog

from activities.outbox_channels import DeliveryFailed, SmtpServer, Webhook, post_webhook, send_email
from domain.people import Directory
from runtime.notify_settings import NotifySettings
from runtime.outbox_messages import render
from store.event_store import EventStore
from store.outbox import OUTBOX_CHANNEL
from store.outbox_delivery import (
    Due,
    Notice,
    claim_due,
    mark_delivered,
    mark_failed_attempt,
    route_new,
    seconds_to_next,
)

log = structlog.get_logger("dealflow.outbox")

BATCH = 16  # deliveries sent at once
FIRST_WAIT_S, LONGEST_WAIT_S = 1.0, 30.0  # after trouble with PostgreSQL itself


class Dispatcher:
    def __init__(
        self, store: EventStore, directory: Directory, settings: NotifySettings, data_dir: Path
    ) -> None:
        self._store = store
        self._directory = directory
        self._settings = settings
        self._data_dir = data_dir
        self._http = httpx.AsyncClient(follow_redirects=False)
        self._link_key: bytes | None = None
        s = settings
        self._smtp = (
            SmtpServer(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_from,
                tls=s.smtp_tls,
                user=s.smtp_user,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout_s=s.timeout_s,
            )
            if s.smtp_host
            else None
        )
        self._hook = (
            Webhook(s.webhook_url, s.webhook_secret.get_secret_value().encode(), s.timeout_s)
            if s.webhook_url and s.webhook_secret
            else None
        )
        if s.webhook_url and not s.webhook_secret:
            log.error("webhook not used: DEALFLOW_WEBHOOK_URL is set without DEALFLOW_WEBHOOK_SECRET")

    async def __aenter__(self) -> "Dispatcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def channels(self, notice: Notice) -> list[tuple[str, str]]:
        """(channel, address) for each channel that reaches the recipient and that they want."""
        contact = self._directory.contact(notice.recipient)
        planned: list[tuple[str, str]] = []
        if "email" in contact.notify and contact.email and self._smtp is not None:
            planned.append(("email", contact.email))
        if "webhook" in contact.notify and self._hook is not None:
            planned.append(("webhook", self._hook.url))
        return planned

    async def run_once(self) -> int:
        """Route what is new, then send what is due (one batch); how many rows it handled."""
        routed = await route_new(self._store, self.channels)
        due = await claim_due(self._store, self._settings.lease_s, BATCH)
        await asyncio.gather(*(self._deliver(d) for d in due))
        return routed + len(due)

    async def run(self) -> None:
        """Deliver until cancelled, riding out PostgreSQL's outages."""
        log.info(
            "outbox dispatcher running",
            email=f"{self._smtp.host}:{self._smtp.port}" if self._smtp else None,
            webhook=self._hook.url if self._hook else None,
        )
        wait = FIRST_WAIT_S
        while True:
            try:
                conninfo = self._store.pool.conninfo
                assert isinstance(conninfo, str)  # EventStore.open takes a string
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as listener:
                    await listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
                    while True:
                        while await self.run_once():
                            pass
                        pause = await seconds_to_next(self._store)
                        pause = self._settings.poll_s if pause is None else min(pause, self._settings.poll_s)
                        async for _ in listener.notifies(timeout=pause, stop_after=1):
                            pass
                        wait = FIRST_WAIT_S
            except (psycopg.Error, OSError) as err:
                log.warning("outbox dispatcher waits for PostgreSQL", error=_line(err), retry_in_s=wait)
            except Exception as err:  # a bug of ours: logged, and the dispatcher goes on after a wait
                log.exception("outbox dispatcher failed; it starts again", error=_line(err), retry_in_s=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_S)

    async def _deliver(self, due: Due) -> None:
        notice, s = due.notice, self._settings
        try:
            if self._link_key is None:
                self._link_key = s.link_key(self._data_dir)
            rendered = render(notice, self._link_key, s.public_url)
            if due.channel == "email":
                if self._smtp is None:
                    raise DeliveryFailed("no SMTP server is configured (DEALFLOW_SMTP_HOST)", permanent=True)
                await send_email(self._smtp, due.address, rendered.subject, rendered.text, notice.key)
            else:
                if self._hook is None:
                    raise DeliveryFailed("no webhook is configured (DEALFLOW_WEBHOOK_URL)", permanent=True)
                await post_webhook(self._http, self._hook, rendered.body, notice.key, due.attempts)
        except Exception as err:  # a receiver's failure, or a bug of ours: never the loop's end
            permanent = isinstance(err, DeliveryFailed) and err.permanent
            final = permanent or due.attempts >= s.max_attempts
            retry_in = None if final else s.backoff(due.attempts)
            await mark_failed_attempt(self._store, notice.key, due.channel, _line(err), retry_in)
            fields: dict[str, Any] = {"key": notice.key, "channel": due.channel, "attempt": due.attempts}
            if final:
                log.error("notification failed for good", error=_line(err), **fields)
            else:
                log.warning("notification attempt failed", error=_line(err), retry_in_s=retry_in, **fields)
            return
        await mark_delivered(self._store, notice.key, due.channel)
        log.info("notification delivered", key=notice.key, channel=due.channel, attempt=due.attempts)


@contextlib.asynccontextmanager
async def dispatching(
    store: EventStore, directory: Directory, settings: NotifySettings, data_dir: Path
) -> AsyncIterator[None]:
    """The dispatcher running in the background for as long as the block runs (the worker's)."""
    async with Dispatcher(store, directory, settings, data_dir) as dispatcher:
        task = asyncio.create_task(dispatcher.run(), name="outbox-dispatcher")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
