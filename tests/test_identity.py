"""Who a caller is: tokens on the embedded default, an OIDC issuer's tokens through its JWKS (keys
rotated), and service accounts' API keys in real PostgreSQL — each way of failing named."""

import hashlib
import json
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from app.errors import BadInput, Unauthenticated
from app.identity import KEY_FILE, LOCAL_AUDIENCE, LOCAL_ISSUER, Identity
from cli.main import main
from domain.authorization import PrincipalKind, Scope
from domain.pipeline import load_catalog
from runtime.settings import Settings
from store.event_store import EventStore

DIRECTORY = load_catalog().people


def local_identity(data_dir: Path, store: EventStore | None = None) -> Identity:
    async def no_store() -> EventStore:
        assert store is not None, "this test uses no database"
        return store

    return Identity(Settings(data_dir=data_dir), DIRECTORY, no_store)


async def rule_of(identity: Identity, header: str | None) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await identity.authenticate(header)
    return refused.value.rule


async def test_a_minted_token_proves_the_person_across_processes(tmp_path: Path) -> None:
    token = local_identity(tmp_path).mint_token("mei.chen", days=2)
    # Another process on the same data directory (a new Identity) reads the same key.
    principal = await local_identity(tmp_path).authenticate(f"Bearer {token}")
    assert (principal.name, principal.kind, principal.actor) == ("mei.chen", PrincipalKind.PERSON, "mei.chen")
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("person", "days", "says"),
    [("nobody", 1, "not in the people directory"), ("mei.chen", 0, "at most 366"), ("mei.chen", 400, "366")],
)
def test_tokens_only_for_people_of_the_directory_and_bounded_days(
    tmp_path: Path, person: str, days: float, says: str
) -> None:
    with pytest.raises(BadInput, match=says):
        local_identity(tmp_path).mint_token(person, days)


async def test_every_bad_credential_is_refused_by_name(tmp_path: Path) -> None:
    identity = local_identity(tmp_path)
    now = datetime.now(UTC)
    claims = {"sub": "mei.chen", "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": now + timedelta(hours=1)}
    key = identity.local_key()
    expired = jwt.encode({**claims, "exp": now - timedelta(hours=1)}, key, algorithm="HS256")
    forged = jwt.encode(claims, b"k" * 32, algorithm="HS256")
    other_audience = jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="HS256")
    nobody = jwt.encode({k: v for k, v in claims.items() if k != "sub"}, key, algorithm="HS256")
    unsigned = jwt.encode(claims, "", algorithm="none")
    assert await rule_of(identity, None) == "credentials-required"
    assert await rule_of(identity, "Basic bWVpOmNoZW4=") == "bearer-scheme"
    assert await rule_of(identity, "Bearer ") == "bearer-scheme"
    assert await rule_of(identity, f"Bearer {expired}") == "token-expired"
    for token in (forged, other_audience, unsigned, "not.a.token", "x" * 9000):
        assert await rule_of(identity, f"Bearer {token}") == "token-invalid", token[:40]
    assert await rule_of(identity, f"Bearer {nobody}") == "token-invalid"


# --- an OIDC issuer: its keys served over HTTP on this machine, rotated during the test ----------


class Issuer:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        self.fetches += 1
        return {
            "keys": [
                {**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}
                for kid, k in self.keys.items()
            ]
        }

    def token(self, kid: str, **claims: Any) -> str:
        body = {
            "iss": "https://id.example.test",
            "aud": "dealflow",
            "preferred_username": "hua.zhang",
            "exp": datetime.now(UTC) + timedelta(minutes=5),
            **claims,
        }
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def issuer() -> Iterator[tuple[Issuer, str]]:
    the_issuer = Issuer()
    the_issuer.add_key("k1")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(the_issuer.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield the_issuer, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


def oidc_identity(jwks_url: str, tmp_path: Path) -> Identity:
    settings = Settings(
        data_dir=tmp_path,
        oidc_issuer="https://id.example.test",
        oidc_audience="dealflow",
        oidc_jwks_url=jwks_url,
    )

    async def no_store() -> EventStore:
        raise AssertionError("no database needed")

    return Identity(settings, DIRECTORY, no_store, key_refresh_cooldown=0)


async def test_an_oidc_issuers_tokens_are_verified_with_its_rotating_keys(
    issuer: tuple[Issuer, str], tmp_path: Path
) -> None:
    the_issuer, jwks_url = issuer
    identity = oidc_identity(jwks_url, tmp_path)
    assert (await identity.authenticate(f"Bearer {the_issuer.token('k1')}")).name == "hua.zhang"
    assert (await identity.authenticate(f"Bearer {the_issuer.token('k1')}")).name == "hua.zhang"
    assert the_issuer.fetches == 1  # the key set is cached
    the_issuer.add_key("k2")  # the issuer rotates: a token signed by the new key is fetched for
    assert (
        await identity.authenticate(f"Bearer {the_issuer.token('k2', preferred_username='lin.ma')}")
    ).name == ("lin.ma")
    assert the_issuer.fetches == 2
    wrong_issuer = the_issuer.token("k1", iss="https://evil.example.test")
    assert await rule_of(identity, f"Bearer {wrong_issuer}") == "token-invalid"
    assert await rule_of(identity, f"Bearer {the_issuer.token('k1', aud='other')}") == "token-invalid"
    # A locally minted token means nothing once an issuer is configured; nor can one be minted.
    local = local_identity(tmp_path).mint_token("hua.zhang")
    assert await rule_of(identity, f"Bearer {local}") == "token-invalid"
    with pytest.raises(BadInput, match="OIDC issuer"):
        identity.mint_token("hua.zhang")


def test_an_oidc_issuer_needs_all_three_settings(tmp_path: Path) -> None:
    async def no_store() -> EventStore:
        raise AssertionError

    with pytest.raises(BadInput, match="DEALFLOW_OIDC_JWKS_URL"):
        Identity(Settings(data_dir=tmp_path, oidc_issuer="https://id.example.test"), DIRECTORY, no_store)


# --- service accounts' API keys, in PostgreSQL -----------------------------------------------------


async def test_api_keys_prove_a_service_until_revoked(tmp_path: Path, store: EventStore) -> None:
    identity = local_identity(tmp_path, store)
    key, secret = await identity.create_api_key("crm-sync", ["deals:write", "deals:read"], "test")
    principal = await identity.authenticate(f"Bearer {secret}")
    assert (principal.name, principal.kind, principal.actor) == (
        "crm-sync",
        PrincipalKind.SERVICE,
        "service:crm-sync",
    )
    assert principal.scopes == {Scope.DEALS_WRITE, Scope.DEALS_READ}
    async with store.pool.connection() as conn:
        rows: list[tuple[str, bytes]] = await (
            await conn.execute("SELECT key_id, secret_sha256 FROM api_keys")
        ).fetchall()  # type: ignore[assignment]
    assert [r[0] for r in rows] == [key.key_id]
    secret_part = secret.removeprefix(f"dfk_{key.key_id}_")
    assert bytes(rows[0][1]) == hashlib.sha256(secret_part.encode()).digest()  # only the hash is kept

    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert await rule_of(identity, f"Bearer {tampered}") == "api-key-invalid"
    assert await rule_of(identity, "Bearer dfk_nothing") == "api-key-invalid"
    assert (await identity.revoke_api_key(key.key_id)) is not None
    assert await rule_of(identity, f"Bearer {secret}") == "api-key-revoked"
    assert await identity.api_keys() == []
    assert [k.key_id for k in await identity.api_keys(include_revoked=True)] == [key.key_id]
    assert await identity.revoke_api_key("000000000000") is None


@pytest.mark.parametrize(
    ("service", "scopes", "says"),
    [
        ("CRM Sync", ["deals:write"], "service name"),
        ("crm", ["deals:approve"], "deals:approve"),
        ("crm", [], "scopes"),
    ],
)
async def test_api_keys_refuse_bad_names_and_scopes(
    tmp_path: Path, store: EventStore, service: str, scopes: list[str], says: str
) -> None:
    with pytest.raises(BadInput, match=says):
        await local_identity(tmp_path, store).create_api_key(service, scopes, "test")


async def test_the_command_line_makes_tokens_and_keys(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEALFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await main(["token", "--person", "jun.wu", "--days", "0.5"]) == 0
    token = capsys.readouterr().out.strip()
    assert (await local_identity(tmp_path).authenticate(f"Bearer {token}")).name == "jun.wu"
    assert await main(["token", "--person", "stranger"]) == 2

    assert await main(["apikey", "create", "crm-sync", "--scope", "deals:write", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["api_key"].startswith(f"dfk_{made['key']['key_id']}_")
    assert made["key"]["created_by"].startswith("cli")
    assert await main(["apikey", "create", "crm-sync", "--scope", "deals:approve"]) == 2
    assert await main(["apikey", "list"]) == 0
    assert made["key"]["key_id"] in capsys.readouterr().out
    assert await main(["apikey", "revoke", made["key"]["key_id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert await main(["apikey", "revoke", "ffffffffffff"]) == 4
    assert await main(["apikey", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
