"""What a notification says on each channel: a mail's subject and text, a webhook's JSON body.

An approval request's message carries two links, approve and reject (domain/approval_links.py),
signed with the link key and pointing at the API (`DEALFLOW_PUBLIC_URL`). They are made from the
stored row alone, so every attempt at a delivery sends the same links and the same body.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.approval_links import LINK_PATH, LinkClaims, expiry, sign
from store.outbox_delivery import Notice

APPROVAL_KINDS = frozenset({"DiscountRequested", "DiscountEscalated"})
TITLES = {
    "StallReminded": "Reminder",
    "StallEscalated": "Escalation",
    "DiscountRequested": "Discount approval requested",
    "DiscountEscalated": "Discount approval escalated to you",
    "RevisitDue": "Revisit due",
}


@dataclass(frozen=True)
class Links:
    approve: str
    reject: str
    expires_at: datetime


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    body: bytes  # the webhook's JSON


def approval_links(notice: Notice, key: bytes, public_url: str) -> Links | None:
    """The approve and reject links of an approval request's notification; None for other kinds."""
    request_id = notice.details.get("request_id")
    if notice.kind not in APPROVAL_KINDS or not isinstance(request_id, str):
        return None
    deadline = notice.details.get("deadline")
    until = expiry(notice.created_at, datetime.fromisoformat(deadline) if isinstance(deadline, str) else None)
    base = f"{public_url.rstrip('/')}{LINK_PATH}"

    def link(approve: bool) -> str:
        claims = LinkClaims(
            link_id=notice.key,
            person=notice.recipient,
            stream_id=notice.stream_id,
            request_id=request_id,
            approve=approve,
            expires_at=until,
        )
        return f"{base}/{sign(claims, key)}"

    return Links(link(True), link(False), until.astimezone(UTC))


def render(notice: Notice, key: bytes, public_url: str) -> Rendered:
    title = TITLES.get(notice.kind, notice.kind)
    links = approval_links(notice, key, public_url)
    text = f"{notice.message}\n"
    if links is not None:
        text += (
            f"\nApprove: {links.approve}\nReject: {links.reject}\n\n"
            "Each link asks you to confirm. Either one works once, and only until"
            f" {links.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        )
    text += f"\n-- dealflow ({notice.kind}, {notice.key})\n"
    payload: dict[str, object] = {
        "key": notice.key,
        "kind": notice.kind,
        "title": title,
        "recipient": notice.recipient,
        "stream_id": notice.stream_id,
        "message": notice.message,
        "created_at": notice.created_at.isoformat(),
        "details": notice.details,
    }
    if links is not None:
        payload["links"] = {
            "approve": links.approve,
            "reject": links.reject,
            "expires_at": links.expires_at.isoformat(),
        }
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return Rendered(f"[dealflow] {title}: {notice.stream_id}", text, body)
