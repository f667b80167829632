"""Every error status the API answers, produced for real, as RFC 9457 problems carrying the rule;
and the audit line each command leaves, accepted or refused."""

import json
import logging
from typing import Any

import httpx
import pytest

from api.main import create_app
from runtime.settings import Settings
from tests.api.conftest import Api, free_port, new_id

pytestmark = pytest.mark.slow
PROBLEM_FIELDS = {"type", "title", "status", "detail", "rule"}


def problem(response: httpx.Response, status: int, rule: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS
    assert (body["status"], body["rule"], body["type"]) == (status, rule, f"urn:dealflow:problem:{rule}")
    return body


async def opened(api: Api, owner: str = "an.li") -> str:
    oid = new_id()
    body = {"opportunity_id": oid, "company": "Acme", "contact_person": "Li", "source": "web"}
    assert (await api.call("POST", "/v1/opportunities", owner, body)).status_code == 201
    return oid


async def test_each_error_is_a_problem_with_its_rule(api: Api) -> None:
    oid = await opened(api)
    path = f"/v1/opportunities/{oid}"
    # 401: no credentials, a forged token
    missing = await api.call("GET", path, None)
    problem(missing, 401, "credentials-required")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = await api.call("GET", path, None, headers={"Authorization": "Bearer e30.e30.c2ln"})
    problem(forged, 401, "token-invalid")
    # 403: another rep's deal
    problem(await api.call("POST", f"{path}/touches", "bo.wang", {"kind": "call"}), 403, "own-deals-only")
    # 404: no such deal, no such route
    problem(await api.call("GET", "/v1/opportunities/nobody-here", "an.li"), 404, "known-opportunity")
    problem(await api.call("GET", "/v1/nothing", "an.li"), 404, "known-resource")
    # 409: a rule says no, nothing recorded
    skipped = await api.call("POST", f"{path}/advance", "an.li", {"to_stage": "proposal"})
    assert "contact" in problem(skipped, 409, "forward-one-stage")["detail"]
    # 422: the request's shape, a bad input the application tells, a bad Idempotency-Key
    shapeless = problem(
        await api.call("POST", "/v1/opportunities", "an.li", {"company": "X"}), 422, "valid-input"
    )
    assert {tuple(e["loc"]) for e in shapeless["errors"]} >= {("body", "contact_person"), ("body", "source")}
    backwards = await api.call(
        "GET", "/v1/reports/sales", "an.li", params={"from": "2026-05-01", "to": "2026-01-01"}
    )
    problem(backwards, 422, "bad-input")
    key = {"Idempotency-Key": "x" * 201}
    problem(await api.call("POST", f"{path}/reopen", "an.li", {}, headers=key), 422, "valid-input")
    surrogate = b'{"kind": "call", "note": "\\ud800"}'
    headers = {**api.auth("an.li"), "content-type": "application/json"}
    odd = await api.client.post(f"{path}/touches", content=surrogate, headers=headers)
    assert odd.status_code in (409, 422), odd.text


async def test_an_unexpected_error_is_a_500_without_internals(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("secret internals at 0xdeadbeef")

    monkeypatch.setattr(api.dealflow.queries, "pipelines", broken)
    with caplog.at_level(logging.ERROR, logger="dealflow.api"):
        response = await api.call("GET", "/v1/pipelines", "an.li")
    body = problem(response, 500, "internal-error")
    assert "secret" not in response.text
    assert "RuntimeError" not in json.dumps(body)
    assert any("secret internals" in (r.exc_text or "") for r in caplog.records)  # logged, not answered


async def test_a_server_down_is_503_with_retry_after(api_settings: Settings, api: Api) -> None:
    """Temporal at an address where nothing listens: commands and readiness say so, naming it."""
    down = api_settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    app = create_app(down)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://down.test") as client,
    ):
        headers = api.auth("an.li")
        moved = await client.post(
            "/v1/opportunities/any-deal/touches", json={"kind": "call"}, headers=headers
        )
        body = problem(moved, 503, "server-unreachable")
        assert "Temporal" in body["detail"]
        assert moved.headers["retry-after"] == "5"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["Temporal"]["ok"] is False
        assert ready.json()["checks"]["PostgreSQL"]["ok"] is True
        assert "Temporal" in ready.json()["detail"]
        assert (await client.get("/healthz")).json() == {"status": "ok"}  # the process is up


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["Temporal"]["ok"]
    assert checks["PostgreSQL"]["projector_lag"] >= 0
    assert checks["PostgreSQL"]["projector_lag_s"] >= 0


async def test_every_command_leaves_one_audit_line(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    oid = await opened(api)
    path = f"/v1/opportunities/{oid}"
    with caplog.at_level(logging.INFO, logger="dealflow.audit"):
        caplog.clear()
        await api.call(
            "POST", f"{path}/touches", "an.li", {"kind": "call"}, headers={"Idempotency-Key": "t-1"}
        )
        await api.call("POST", f"{path}/advance", "an.li", {"to_stage": "deal"})
        await api.call("POST", f"{path}/touches", "bo.wang", {"kind": "call"})
        await api.call("POST", f"{path}/touches", None, {"kind": "call"})
        await api.call("GET", path, "an.li")  # a read: not a command
    lines = [r for r in caplog.records if r.name == "dealflow.audit"]
    seen = [(r.principal, r.command, r.deal_id, r.outcome, r.status, r.rule) for r in lines]  # type: ignore[attr-defined]
    assert seen == [
        ("an.li", "touch", oid, "accepted", 200, None),
        ("an.li", "advance", oid, "refused", 409, "forward-one-stage"),
        ("bo.wang", "touch", oid, "refused", 403, "own-deals-only"),
        (None, "touch", oid, "refused", 401, "credentials-required"),
    ]
    assert lines[0].request_id == "t-1"  # type: ignore[attr-defined]
    assert all(r.request_id for r in lines[1:3])  # type: ignore[attr-defined]
