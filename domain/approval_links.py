"""Approve/reject links for a discount approval request, signed so a manager can decide from a mail.

A link's token is its claims (whose link, which deal and request, which decision, until when) as
base64url JSON, then an HMAC-SHA256 of that text under a secret only dealflow holds: a token
changed anywhere (another person, deal or decision, a later expiry) no longer verifies. Tokens
are made from the notification they go out with, so a notification delivered twice carries the
same links. The pair of one notification shares one `link_id`: either link is used at most once
(the use is stored by a hash of it, store/approval_links.py), and using one spends the other.

Pure: no clock (`now` is given), no storage. Whether the person may still decide is not known
here; the front end asks the authorisation rules and the deal's own policy when a link is used.
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

LINK_PATH = "/v1/approvals/links"  # where the API serves them: {LINK_PATH}/{token}
LINK_HOURS = 48  # the longest a link lives; less when the request escalates or expires sooner
MAX_TOKEN = 2048


class LinkClaims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    link_id: str  # the notification's key: one decision per notification
    person: str  # who decides: the approver the notification was for
    stream_id: str  # the deal
    request_id: str  # the discount request it decides
    approve: bool
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class BadLink(ValueError):
    """A token that is not one of ours: malformed, or its signature does not match."""


def expiry(created_at: datetime, deadline: datetime | None) -> datetime:
    """Until when the links of a notification made at `created_at` work: LINK_HOURS at most, and
    never past the request's deadline (it escalates or expires then: the person's say ends)."""
    latest = created_at + timedelta(hours=LINK_HOURS)
    return min(latest, deadline) if deadline is not None else latest


def sign(claims: LinkClaims, secret: bytes) -> str:
    body = claims.model_dump(mode="json")
    body["expires_at"] = int(claims.expires_at.timestamp())  # whole seconds: short and canonical
    text = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{text}.{_b64(_mac(secret, text))}"


def verify(token: str, secret: bytes) -> LinkClaims:
    """The claims of a token we signed (expired or not: the caller compares with its clock)."""
    text, _, mac = token.partition(".")
    if not text or not mac or len(token) > MAX_TOKEN:
        raise BadLink("not an approval link")
    try:
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    except ValueError:
        raise BadLink("not an approval link") from None
    if not hmac.compare_digest(given, _mac(secret, text)):
        raise BadLink("this link was not issued by dealflow, or it was changed")
    try:
        body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        body["expires_at"] = datetime.fromtimestamp(body["expires_at"], UTC)
        return LinkClaims.model_validate(body)
    except (ValueError, TypeError, KeyError, ValidationError):
        raise BadLink("not an approval link") from None


def use_digest(claims: LinkClaims) -> bytes:
    """What records a link pair's one use: a hash of its id, never the token."""
    return hashlib.sha256(f"approval-link:{claims.link_id}".encode()).digest()


def _mac(secret: bytes, text: str) -> bytes:
    return hmac.new(secret, text.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
