"""Signing in through the company's identity provider (OIDC authorisation code, with PKCE).

Used when an OIDC issuer is configured (DEALFLOW_OIDC_ISSUER, _AUDIENCE, _JWKS_URL, as for the
API) and the web app has a client there: DEALFLOW_OIDC_CLIENT_ID and DEALFLOW_OIDC_CLIENT_SECRET.
The browser goes to the provider's authorisation endpoint (found in its discovery document) with a
fresh `state` and PKCE challenge, both kept in a signed, HttpOnly cookie for ten minutes; back at
the callback, the state must match, and the code is exchanged (with the PKCE verifier and the
client's secret) for an access token. That token is the session: `Identity.authenticate` checks
it as it checks an API caller's (the issuer's keys, its audience, the person it names), so the
session lasts as long as the provider's token does.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import Request
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.bootstrap import Dealflow
from app.errors import Unauthenticated, Unavailable

FLOW_COOKIE = "dealflow_oidc"
FLOW_SECONDS = 600
CALLBACK = "/web/sign-in/oidc/callback"
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


class WebOidcSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore", case_sensitive=True)

    client_id: str | None = Field(None, validation_alias=AliasChoices("DEALFLOW_OIDC_CLIENT_ID", "client_id"))
    client_secret: str | None = Field(
        None, validation_alias=AliasChoices("DEALFLOW_OIDC_CLIENT_SECRET", "client_secret")
    )
    scope: str = Field("openid profile", validation_alias=AliasChoices("DEALFLOW_OIDC_SCOPE", "scope"))


def oidc_client(request: Request, dealflow: Dealflow) -> WebOidcSettings | None:
    """The web app's client at the issuer; None without an issuer or without a client."""
    if dealflow.settings.oidc_issuer is None:
        return None
    found = getattr(request.app.state, "web_oidc", None)
    conf = found if isinstance(found, WebOidcSettings) else WebOidcSettings()
    return conf if conf.client_id else None


async def _discovery(issuer: str) -> dict[str, Any]:
    kept = _discovered.get(issuer)
    if kept and kept[0] > time.monotonic():
        return kept[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(url)
            answer.raise_for_status()
            document: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError) as err:
        raise Unavailable(
            f"the identity provider's discovery document ({url}) could not be read: {err}"
        ) from None
    _discovered[issuer] = (time.monotonic() + 300, document)
    return document


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _redirect_uri(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK


async def _key(dealflow: Dealflow) -> bytes:
    return (await dealflow.identity()).local_key()


async def begin(request: Request, dealflow: Dealflow, conf: WebOidcSettings, target: str) -> tuple[str, str]:
    """The provider's authorisation URL to send the browser to, and the flow cookie's value."""
    document = await _discovery(str(dealflow.settings.oidc_issuer))
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    flow = json.dumps(
        {"state": state, "verifier": verifier, "next": target, "until": time.time() + FLOW_SECONDS}
    )
    body = _b64(flow.encode())
    cookie = body + "." + _b64(hmac.new(await _key(dealflow), body.encode(), hashlib.sha256).digest())
    query = {
        "response_type": "code",
        "client_id": conf.client_id,
        "redirect_uri": _redirect_uri(request),
        "scope": conf.scope,
        "state": state,
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    return f"{document['authorization_endpoint']}?{urlencode(query)}", cookie


async def finish(
    request: Request, dealflow: Dealflow, conf: WebOidcSettings, code: str, state: str
) -> tuple[str, str]:
    """The session token and where to go, once the provider sent the browser back."""
    flow = await _flow(dealflow, request.cookies.get(FLOW_COOKIE, ""))
    if flow is None or not hmac.compare_digest(str(flow["state"]), state) or not code:
        raise Unauthenticated(
            "oidc-state", "this sign-in was not started here, or took too long: start again"
        )
    document = await _discovery(str(dealflow.settings.oidc_issuer))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(request),
        "client_id": conf.client_id or "",
        "client_secret": conf.client_secret or "",
        "code_verifier": str(flow["verifier"]),
    }
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(str(document["token_endpoint"]), data=form)
        token = answer.json().get("access_token") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as err:
        raise Unavailable(f"the identity provider's token endpoint did not answer: {err}") from None
    if not isinstance(token, str):
        raise Unauthenticated(
            "oidc-code", f"the identity provider refused the sign-in ({answer.status_code})"
        )
    principal = await (await dealflow.identity()).authenticate(f"Bearer {token}")
    if not dealflow.catalog.people.knows(principal.name):
        raise Unauthenticated("known-person", f"{principal.name} is not in dealflow's people directory")
    return token, str(flow["next"])


async def _flow(dealflow: Dealflow, cookie: str) -> dict[str, Any] | None:
    body, _, mac = cookie.partition(".")
    expected = _b64(hmac.new(await _key(dealflow), body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(mac, expected):
        return None
    try:
        flow: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    return flow if float(flow.get("until", 0)) > time.time() else None
