"""Signing in to the web app through an identity provider (OIDC authorisation code with PKCE),
against a small provider served here: discovery, authorisation (the person has signed in there),
token endpoint checking the code and its PKCE verifier, and its keys."""

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.main import create_app
from tests.web.conftest import WebStack
from web.oidc import WebOidcSettings


class Provider:
    """Signs the person `who` in at once (their session at the provider), code once, PKCE checked."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.who = "mei.chen"
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (person, PKCE challenge)
        self.url = ""

    def handle(
        self, path: str, query: dict[str, str], form: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        if path == "/.well-known/openid-configuration":
            return (
                200,
                {},
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks.json",
                },
            )
        if path == "/jwks.json":
            return (
                200,
                {},
                {"keys": [{**json.loads(RSAAlgorithm.to_jwk(self.key.public_key())), "kid": "k1"}]},
            )
        if path == "/authorize":
            assert query["client_id"] == "dealflow-web"
            assert query["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = (self.who, query["code_challenge"])
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            return 302, {"Location": back}, None
        if path == "/token":
            person, challenge = self.codes.pop(form.get("code", ""), ("", ""))
            verifier = form.get("code_verifier", "").encode()
            made = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if not person or made != challenge or form.get("client_secret") != "s3cret":
                return 400, {}, {"error": "invalid_grant"}
            claims = {
                "iss": self.url,
                "aud": "dealflow",
                "preferred_username": person,
                "exp": datetime.now(UTC) + timedelta(minutes=10),
                "jti": secrets.token_hex(8),
            }
            token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})
            return 200, {}, {"access_token": token, "token_type": "Bearer"}
        return 404, {}, {"error": "not_found"}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    the = Provider()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, form: dict[str, str]) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, headers, body = the.handle(url.path, query, form)
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._answer({})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            self._answer(form)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    the.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield the
    server.shutdown()
    server.server_close()


async def test_a_person_signs_in_through_the_identity_provider(
    web_stack: WebStack, provider: Provider, tmp_path: Path
) -> None:
    assert web_stack.settings is not None
    settings = web_stack.settings.model_copy(
        update={
            "oidc_issuer": provider.url,
            "oidc_audience": "dealflow",
            "oidc_jwks_url": f"{provider.url}/jwks.json",
            "data_dir": tmp_path,
        }
    )
    app = create_app(settings)
    app.state.web_oidc = WebOidcSettings(client_id="dealflow-web", client_secret="s3cret")
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://web") as browser,
        httpx.AsyncClient() as outside,
    ):
        page = await browser.get("/web/sign-in")
        assert "Sign in with your company account" in page.text
        assert "Who are you?" not in page.text  # no person picker with an identity provider
        assert (
            await browser.post("/web/sign-in", data={"person": "hua.zhang", "csrf": "x"})
        ).status_code == 403

        go = await browser.get("/web/sign-in/oidc", params={"next": "/web/board"})
        assert go.status_code == 303
        assert go.headers["location"].startswith(f"{provider.url}/authorize?")
        back = await outside.get(go.headers["location"])  # the provider signs mei.chen in
        callback = back.headers["location"]
        assert callback.startswith("http://web/web/sign-in/oidc/callback?")
        done = await browser.get(callback.removeprefix("http://web"))
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/web/board"
        assert "mei.chen" in (await browser.get("/web/board")).text

        # the same callback again (a replayed code) signs nobody in
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as other:
            replay = await other.get(callback.removeprefix("http://web"))
            assert replay.status_code == 401
            assert (await other.get("/web/inbox")).status_code == 303
