"""Signing in to the web app on the embedded default, and the session it gives.

- **One-time links**: `dealflow token --person NAME --web` prints a link whose secret is stored
  only as a hash (store/web_sign_ins.py); it works once, within LINK_MINUTES. Opening it shows a
  button: the link is used by that POST, never by the GET (mail scanners fetch links).
- **The person picker**: offered only when no identity provider is configured (no OIDC issuer),
  the same trust as `dealflow token`: whoever reaches the embedded server may be anyone.

Either way the session is a token from `Identity.mint_token` (so `Identity.authenticate` checks
it, exactly as an API token), valid SESSION_HOURS, kept in an HttpOnly, SameSite cookie. Signing
out records the token's id, so the token is refused from then on, even if copied.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import jwt

from app.bootstrap import Dealflow
from app.errors import BadInput
from store.web_sign_ins import add_link, sign_out, signed_out, use_link

LINK_MINUTES = 15
SESSION_HOURS = 8
LINK_PATH = "/web/sign-in/link"


def picker_allowed(dealflow: Dealflow) -> bool:
    """The person picker exists only without an identity provider."""
    return dealflow.settings.oidc_issuer is None


async def make_link(dealflow: Dealflow, person: str, base_url: str) -> str:
    """A one-time sign-in link for `person`, valid for LINK_MINUTES."""
    if not picker_allowed(dealflow):
        raise BadInput("with an OIDC issuer configured, people sign in through it, not by link")
    directory = dealflow.catalog.people
    if not directory.knows(person):
        known = ", ".join(directory.names()) or "nobody"
        raise BadInput(f"{person!r} is not in the people directory (known: {known})")
    if not base_url.startswith(("http://", "https://")):
        raise BadInput(f"the web app's address must start with http:// or https://, not {base_url!r}")
    secret = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(minutes=LINK_MINUTES)
    await add_link(await dealflow.connections.store(), _digest(secret), person, expires)
    return f"{base_url.rstrip('/')}{LINK_PATH}?code={quote(secret)}"


async def redeem_link(dealflow: Dealflow, secret: str) -> str | None:
    """The person the link signs in (it is used up now); None for an unknown, used or old one."""
    if not secret or len(secret) > 100:
        return None
    return await use_link(await dealflow.connections.store(), _digest(secret))


async def start_session(dealflow: Dealflow, person: str) -> str:
    """A session token for `person` (a person of the directory)."""
    identity = await dealflow.identity()
    return identity.mint_token(person, days=SESSION_HOURS / 24)


async def end_session(dealflow: Dealflow, token: str) -> None:
    """Refuse this session's token from now on."""
    claims = _claims(token)
    if claims is None:
        return
    exp = claims.get("exp")
    expires = datetime.fromtimestamp(exp if isinstance(exp, int | float) else 0, UTC)
    store = await dealflow.connections.store()
    await sign_out(store, _session_digest(claims), str(claims.get("sub", "")), expires)


async def is_signed_out(dealflow: Dealflow, token: str) -> bool:
    claims = _claims(token)
    return claims is None or await signed_out(await dealflow.connections.store(), _session_digest(claims))


def _claims(token: str) -> dict[str, object] | None:
    """The claims of a token `Identity.authenticate` has already verified."""
    try:
        claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims


def _session_digest(claims: dict[str, object]) -> bytes:
    return _digest(f"session:{claims.get('jti') or claims.get('iat')}:{claims.get('sub')}")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()
