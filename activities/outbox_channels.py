"""The two ways a notification leaves dealflow: an e-mail (SMTP, through aiosmtplib) and a webhook
(an HTTP POST of JSON, through httpx). Each send either returns (delivered) or raises
`DeliveryFailed`, saying whether trying again could help; the dispatcher
(runtime/outbox_dispatcher.py) keeps the count and the schedule.

Both are idempotent for their receivers as far as the protocol lets them: a webhook carries the
notification's key as `Idempotency-Key` (the same on every attempt), a mail its `Message-ID` made
from the key (mail clients show one of several copies with the same id) and `X-Dealflow-Key`.
"""

import hashlib
import hmac
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import httpx

SIGNATURE_HEADER = "X-Dealflow-Signature"
USER_AGENT = "dealflow-outbox/1"


class DeliveryFailed(Exception):
    """A send that did not go through; `permanent`: the same send can never succeed."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    tls: str = "starttls"  # starttls, tls or none
    user: str | None = None
    password: str | None = None
    timeout_s: float = 30.0


async def send_email(server: SmtpServer, to: str, subject: str, text: str, key: str) -> None:
    message = EmailMessage()
    message["From"] = server.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@dealflow>"
    message["X-Dealflow-Key"] = key
    message.set_content(text)
    try:
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.user,
            password=server.password,
            use_tls=server.tls == "tls",
            start_tls=server.tls == "starttls",
            tls_context=ssl.create_default_context() if server.tls != "none" else None,
            timeout=server.timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as err:  # this address will not take it, ever
        raise DeliveryFailed(f"SMTP refused {to}: {err}", permanent=True) from err
    except aiosmtplib.SMTPResponseException as err:  # 5xx: permanent; 4xx: try later
        raise DeliveryFailed(f"SMTP {err.code}: {err.message}", permanent=err.code >= 500) from err
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
        raise DeliveryFailed(f"SMTP {server.host}:{server.port}: {type(err).__name__}: {err}") from err


def signature(secret: bytes, body: bytes) -> str:
    """The value of X-Dealflow-Signature: HMAC-SHA256 of the exact body, hex, as `sha256=…`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: bytes
    timeout_s: float = 30.0


async def post_webhook(client: httpx.AsyncClient, hook: Webhook, body: bytes, key: str, attempt: int) -> None:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": key,
        SIGNATURE_HEADER: signature(hook.secret, body),
        "X-Dealflow-Attempt": str(attempt),
    }
    try:
        response = await client.post(hook.url, content=body, headers=headers, timeout=hook.timeout_s)
    except httpx.HTTPError as err:
        raise DeliveryFailed(f"webhook {hook.url}: {type(err).__name__}: {err}") from err
    if not response.is_success:  # any answer but 2xx is tried again, up to the limit
        raise DeliveryFailed(f"webhook {hook.url} answered {response.status_code}: {response.text[:200]}")
