"""Who a caller really is: a person by a bearer JWT, a service account by an API key.

Tokens come from one of two places, never both:
- **an OIDC issuer** (production: `DEALFLOW_OIDC_ISSUER`, `_AUDIENCE`, `_JWKS_URL`): its tokens are
  verified against the issuer's published keys (fetched, cached for five minutes, and fetched again
  when a token names a key not seen yet, so rotated keys are picked up); the claim
  `DEALFLOW_OIDC_NAME_CLAIM` names the person.
- **the embedded default**: a signing key kept in the data directory (made on first use, readable
  only by its owner); `dealflow token --person NAME` mints a token for a person of the directory.

API keys (`dfk_<id>_<secret>`, made by `dealflow apikey create`) prove a service account; they are
checked against the stored hash (store/api_keys.py) on every request, so a revocation holds at once.
"""

import asyncio
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from app.errors import BadInput, Unauthenticated
from domain.authorization import Principal, PrincipalKind, Scope
from domain.people import Directory
from runtime.key_files import read_or_make_key
from runtime.settings import Settings
from store.api_keys import ApiKey, find_api_key, insert_api_key, list_api_keys, revoke_api_key
from store.event_store import EventStore

LOCAL_ISSUER = "dealflow"
LOCAL_AUDIENCE = "dealflow-api"
KEY_FILE = "token-signing.key"
MAX_TOKEN_DAYS = 366
API_KEY_PREFIX = "dfk_"
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_API_KEY = re.compile(r"^dfk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
_MAX_CREDENTIAL = 8192  # longer than any real token: refused before parsing


class Identity:
    """Turns an `Authorization` header into a `Principal`, and makes credentials."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        store: Callable[[], Awaitable[EventStore]],
        *,
        key_refresh_cooldown: float = 30.0,
    ) -> None:
        """`key_refresh_cooldown`: the least time between two fetches of the issuer's keys that a
        token naming an unknown key may cause (so forged key ids cannot flood the issuer)."""
        oidc = (settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url)
        if any(oidc) and not all(oidc):
            raise BadInput(
                "an OIDC issuer needs all of DEALFLOW_OIDC_ISSUER, DEALFLOW_OIDC_AUDIENCE and"
                " DEALFLOW_OIDC_JWKS_URL"
            )
        self._settings = settings
        self._directory = directory
        self._store = store
        self._jwks = (
            jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, cooldown_duration=key_refresh_cooldown)
            if settings.oidc_jwks_url
            else None
        )
        self._local_key: bytes | None = None

    @property
    def uses_oidc(self) -> bool:
        return self._jwks is not None

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind an `Authorization: Bearer …` header; `Unauthenticated` otherwise."""
        if not authorization:
            raise Unauthenticated("credentials-required", "send `Authorization: Bearer <token or API key>`")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("bearer-scheme", "the Authorization header must be `Bearer <credential>`")
        if len(credential) > _MAX_CREDENTIAL:
            raise Unauthenticated("token-invalid", "the credential is too long to be a token")
        if credential.startswith(API_KEY_PREFIX):
            return await self._service(credential)
        return await self._person(credential)

    async def _person(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                key: Any = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
                issuer, audience, algorithms = (
                    self._settings.oidc_issuer,
                    self._settings.oidc_audience,
                    _OIDC_ALGORITHMS,
                )
                claim = self._settings.oidc_name_claim
            else:
                key, issuer, audience, algorithms, claim = (
                    self.local_key(),
                    LOCAL_ISSUER,
                    LOCAL_AUDIENCE,
                    ["HS256"],
                    "sub",
                )
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=audience,
                issuer=issuer,
                options={"require": ["exp", "iss", "aud"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token-expired", "the token has expired: get a new one") from None
        except jwt.PyJWKClientConnectionError as err:
            raise Unauthenticated(
                "token-keys-unavailable", f"the issuer's keys could not be fetched: {err}"
            ) from None
        except jwt.PyJWTError as err:
            raise Unauthenticated("token-invalid", f"the token is not valid here: {err}") from None
        name = claims.get(claim)
        if not isinstance(name, str) or not name:
            raise Unauthenticated("token-invalid", f"the token names nobody (no {claim!r} claim)")
        return Principal(name=name, kind=PrincipalKind.PERSON)

    async def _service(self, credential: str) -> Principal:
        match = _API_KEY.match(credential)
        if match is None:
            raise Unauthenticated("api-key-invalid", "not a dealflow API key (dfk_<id>_<secret>)")
        found = await find_api_key(await self._store(), match[1])
        digest = hashlib.sha256(match[2].encode()).digest()
        if found is None or not hmac.compare_digest(found[1], digest):
            raise Unauthenticated("api-key-invalid", f"API key {match[1]} is not one dealflow issued")
        key = found[0]
        if not key.active:
            raise Unauthenticated("api-key-revoked", f"API key {key.key_id} was revoked")
        return Principal(
            name=key.service, kind=PrincipalKind.SERVICE, scopes=frozenset(map(Scope, key.scopes))
        )

    # --- making credentials ------------------------------------------------------------------

    def local_key(self) -> bytes:
        """The embedded default's signing key, made on first use (mode 0600 in the data directory)."""
        if self._local_key is None:
            try:
                self._local_key = read_or_make_key(self._settings.data_dir / KEY_FILE, "token signing key")
            except ValueError as err:
                raise BadInput(str(err)) from None
        return self._local_key

    def mint_token(self, person: str, days: float = 1.0) -> str:
        """A token for a person of the directory, valid for `days` (embedded default only)."""
        if self._jwks is not None:
            raise BadInput(
                "tokens come from the OIDC issuer configured (DEALFLOW_OIDC_ISSUER), not from dealflow"
            )
        if not self._directory.knows(person):
            known = ", ".join(self._directory.names()) or "nobody"
            raise BadInput(f"{person!r} is not in the people directory (known: {known})")
        if not 0 < days <= MAX_TOKEN_DAYS:
            raise BadInput(f"a token lasts more than 0 and at most {MAX_TOKEN_DAYS} days, not {days}")
        now = datetime.now(UTC)
        claims = {
            "sub": person,
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "iat": now,
            "exp": now + timedelta(days=days),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.local_key(), algorithm="HS256")

    async def create_api_key(self, service: str, scopes: list[str], created_by: str) -> tuple[ApiKey, str]:
        """A new key for a service account, and its secret credential (shown once, stored hashed)."""
        if not SERVICE_NAME.match(service):
            raise BadInput(
                f"a service name is lower-case letters, digits, '.', '_' or '-' (≤ 63), not {service!r}"
            )
        unknown = sorted(set(scopes) - {s.value for s in Scope})
        if unknown or not scopes:
            valid = ", ".join(s.value for s in Scope)
            raise BadInput(
                f"scopes must be some of {valid}" + (f", not {', '.join(unknown)}" if unknown else "")
            )
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode()).digest()
        key = await insert_api_key(
            await self._store(), key_id, service, digest, tuple(sorted(set(scopes))), created_by
        )
        return key, f"{API_KEY_PREFIX}{key_id}_{secret}"

    async def api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        return await list_api_keys(await self._store(), include_revoked=include_revoked)

    async def revoke_api_key(self, key_id: str) -> ApiKey | None:
        return await revoke_api_key(await self._store(), key_id)
