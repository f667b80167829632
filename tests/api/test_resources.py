"""Retries with Idempotency-Key, the decision sent as a signal, listing with paging, the reports
(the stage log streamed), pipelines and briefs: each as a REST client meets it."""

import asyncio
from typing import Any

import pytest

from tests.api.conftest import Api, new_id

pytestmark = pytest.mark.slow


def lead(oid: str, **extra: Any) -> dict[str, Any]:
    return {"opportunity_id": oid, "company": "Gamma", "contact_person": "Zhou", "source": "web", **extra}


async def events(api: Api, oid: str, kind: str) -> list[dict[str, Any]]:
    detail = (await api.call("GET", f"/v1/opportunities/{oid}", "an.li")).json()
    return [e for e in detail["events"] if e["type"] == kind]


async def test_a_retried_post_records_nothing_twice(api: Api) -> None:
    oid = new_id()
    key = {"Idempotency-Key": f"open-{oid}"}
    first = await api.call("POST", "/v1/opportunities", "an.li", lead(oid), headers=key)
    again = await api.call("POST", "/v1/opportunities", "an.li", lead(oid), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = await api.call(
        "POST", "/v1/opportunities", "an.li", lead(oid), headers={"Idempotency-Key": "other"}
    )
    assert (other.status_code, other.json()["rule"]) == (409, "unique-opportunity-id")

    unnamed = {"company": "Delta", "contact_person": "Qian", "source": "web"}
    named = [
        (await api.call("POST", "/v1/opportunities", "an.li", unnamed, headers={"Idempotency-Key": key}))
        for key in (f"u-{oid}", f"u-{oid}", f"v-{oid}")
    ]
    assert [r.status_code for r in named] == [201, 201, 201]
    ids = [r.json()["opportunity_id"] for r in named]
    assert ids[0] == ids[1] != ids[2]  # a retry names the same deal; another request another

    touch = {"Idempotency-Key": f"call-{oid}"}
    answers = [
        await api.call("POST", f"/v1/opportunities/{oid}/touches", "an.li", {"kind": "call"}, headers=touch)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["version"] == answers[1].json()["version"]
    assert len(await events(api, oid, "TouchLogged")) == 1
    assert len(await events(api, oid, "OpportunityOpened")) == 1


async def test_a_discount_decision_sent_as_a_signal(api: Api) -> None:
    oid = new_id()
    assert (await api.call("POST", "/v1/opportunities", "an.li", lead(oid, amount=100000))).status_code == 201
    path = f"/v1/opportunities/{oid}"
    facts = {
        "contact": {"first_touch": "call"},
        "needs_analysis": {
            "pain_points": "x",
            "budget": "1",
            "decision_makers": "CFO",
            "expected_close_date": "2027-01-01",
        },
        "proposal": {"quote": "Q", "demo_done": "yes"},
        "negotiation": {"objections_handled": "yes"},
    }
    for stage, given in facts.items():
        moved = await api.call("POST", f"{path}/advance", "an.li", {"to_stage": stage, "facts": given})
        assert moved.status_code == 200, moved.text
    assert (await api.call("POST", f"{path}/discount", "an.li", {"discount": 12})).status_code == 200

    queued = await api.call(
        "POST",
        f"{path}/discount/decision",
        "mei.chen",
        {"approve": True},
        headers={"Prefer": "respond-async", "Idempotency-Key": f"sig-{oid}"},
    )
    assert queued.status_code == 202, queued.text
    assert queued.json() == {"request_id": f"sig-{oid}", "opportunity_id": oid, "status": "queued"}
    async with asyncio.timeout(10):
        while True:  # the signal is applied by the worker, shortly
            if (await api.call("GET", path, "an.li")).json()["state"]["approved_discount"] == "12":
                break
            await asyncio.sleep(0.1)
    decided = await events(api, oid, "DiscountApproved")
    assert [e["actor"] for e in decided] == ["mei.chen"]
    late = await api.call("POST", f"{path}/discount/decision?wait=false", "hua.zhang", {"approve": False})
    assert late.status_code == 202  # the deal refuses it by its rules, later, and records the refusal
    async with asyncio.timeout(10):
        while True:  # the worker applies it, then the projector reads it
            if refusals := (await api.call("GET", "/v1/approvals/refused", "hua.zhang")).json():
                break
            await asyncio.sleep(0.1)
    assert [(r["opportunity_id"], r["rule"], r["approve"]) for r in refusals] == [
        (oid, "request-open", False)
    ]
    assert (await api.call("GET", "/v1/approvals/refused", "mei.chen")).json() == []  # each sees their own


async def test_listing_pages_through_visibility(api: Api) -> None:
    owner = "chen.zhao"
    ids = sorted(new_id("list") for _ in range(3))
    for oid in ids:
        assert (await api.call("POST", "/v1/opportunities", owner, lead(oid))).status_code == 201
    async with asyncio.timeout(15):
        while True:
            page = (
                await api.call("GET", "/v1/opportunities", owner, params={"owner": owner, "limit": 500})
            ).json()
            if {d["opportunity_id"] for d in page["items"]} >= set(ids):
                break
            await asyncio.sleep(0.2)
    seen, after = [], None
    while True:
        params = {"owner": owner, "stage": "identify", "limit": 2, **({"after": after} if after else {})}
        page = (await api.call("GET", "/v1/opportunities", owner, params=params)).json()
        seen += [d["opportunity_id"] for d in page["items"]]
        if (after := page["next_after"]) is None:
            break
    assert [s for s in seen if s in ids] == ids
    too_many = await api.call("GET", "/v1/opportunities", owner, params={"limit": 501})
    assert (too_many.status_code, too_many.json()["rule"]) == (422, "valid-input")


async def test_reports_pipelines_and_briefs(api: Api) -> None:
    report = await api.call("GET", "/v1/reports/sales", "hua.zhang", params={"pipeline": "software"})
    assert report.status_code == 200, report.text
    assert report.json()["currency"] == "CNY"
    stalled = await api.call(
        "GET", "/v1/reports/stalled", "service:bi-export", params={"as_of": "2030-01-01"}
    )
    assert stalled.json()["as_of"] == "2030-01-01T00:00:00Z"
    assert stalled.json()["stalled"]  # every open deal, years later

    async with api.client.stream("GET", "/v1/reports/stage-log", headers=api.auth("an.li")) as streamed:
        assert streamed.headers["content-type"].startswith("text/csv")
        text = "".join([chunk async for chunk in streamed.aiter_text()])
    assert text.splitlines()[0] == "case_id,activity,timestamp,resource,pipeline,reason"
    assert len(text.splitlines()) > 3
    xes = await api.call(
        "GET", "/v1/reports/stage-log", "an.li", params={"format": "xes", "pipeline": "software"}
    )
    assert xes.text.startswith("<?xml")
    assert xes.text.rstrip().endswith("</log>")

    pipelines = (await api.call("GET", "/v1/pipelines", "an.li")).json()
    assert set(pipelines) == {"software", "services"}
    assert (await api.call("GET", "/v1/pipelines/software", "an.li")).json()["name"] == "Software licences"
    versions = (await api.call("GET", "/v1/pipelines/versions", "an.li")).json()
    assert {v["pipeline_id"] for v in versions if v["current"]} >= {"software"}

    compiled = await api.call("POST", "/v1/reports/briefs/month/compile", "mei.chen")
    assert compiled.status_code == 200, compiled.text
    stored = await api.call(
        "GET", "/v1/reports/briefs/month", "mei.chen", params={"start": compiled.json()["start"]}
    )
    assert stored.json()["start"] == compiled.json()["start"]
    missing = await api.call("GET", "/v1/reports/briefs/week", "mei.chen", params={"start": "2001-01-01"})
    assert (missing.status_code, missing.json()["rule"]) == (404, "known-brief")
