"""A deal's whole life through HTTP with real tokens, real Temporal and real PostgreSQL: opened by
its rep, moved to negotiation, a discount asked and decided by a manager, a contract submitted and
signed by legal, won, its after-sales worked; each event records who caused it."""

from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Api, new_id
from tests.factories import ALL_FACTS

pytestmark = pytest.mark.slow

FACTS: dict[str, dict[str, str]] = {
    "contact": {"first_touch": "call"},
    "needs_analysis": {
        k: ALL_FACTS[k] for k in ("pain_points", "budget", "decision_makers", "expected_close_date")
    },
    "proposal": {"quote": "Q-7", "demo_done": "yes"},
    "negotiation": {"objections_handled": "yes"},
    "deal": {"contract_reviewed": "yes", "contract_signed": "yes"},
}


async def ok(api: Api, method: str, path: str, who: str, body: Any = None, status: int = 200) -> Any:
    response = await api.call(method, path, who, body)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_deal_from_lead_to_after_sales(api: Api) -> None:
    oid = new_id()
    base = f"/v1/opportunities/{oid}"
    opened = await ok(
        api,
        "POST",
        "/v1/opportunities",
        "an.li",
        {
            "opportunity_id": oid,
            "company": "Acme",
            "contact_person": "Wang Li",
            "source": "referral",
            "amount": 120000,
        },
        201,
    )
    assert (opened["owner"], opened["stage"], opened["amount"]) == ("an.li", "identify", "120000")
    for stage in ("contact", "needs_analysis", "proposal", "negotiation"):
        state = await ok(api, "POST", f"{base}/advance", "an.li", {"to_stage": stage, "facts": FACTS[stage]})
        assert state["stage"] == stage

    state = await ok(api, "POST", f"{base}/discount", "an.li", {"discount": "12", "comment": "rival quote"})
    assert state["discount_request"]["status"] == "pending"
    inbox = await ok(api, "GET", "/v1/approvals/inbox", "mei.chen")
    assert [p["opportunity_id"] for p in inbox if p["opportunity_id"] == oid] == [oid]
    assert oid not in {p["opportunity_id"] for p in await ok(api, "GET", "/v1/approvals/inbox", "jun.wu")}
    state = await ok(api, "POST", f"{base}/discount/decision", "mei.chen", {"approve": True, "comment": "ok"})
    assert Decimal(state["approved_discount"]) == 12

    contract = {
        "contract_id": "C-1",
        "total": "105600",
        "discount": 12,
        "payment_terms_days": 30,
        "liability_cap": 120000,
    }
    state = await ok(api, "POST", f"{base}/contract", "an.li", contract)
    assert state["contract"]["status"] == "awaiting_legal"
    state = await ok(api, "POST", f"{base}/contract/decision", "lin.ma", {"approve": True})
    assert state["contract"]["status"] == "signed_off"
    assert state["contract"]["decided_by"] == "lin.ma"
    state = await ok(api, "POST", f"{base}/advance", "an.li", {"to_stage": "deal", "facts": FACTS["deal"]})
    assert state["stage"] == "deal"

    detail = await ok(api, "GET", base, "an.li")
    actors = {e["type"]: e["actor"] for e in detail["events"]}
    assert actors["OpportunityOpened"] == "an.li"
    assert actors["DiscountApproved"] == "mei.chen"
    assert actors["LegalDecided"] == "lin.ma"
    assert [e["version"] for e in detail["events"]] == list(range(1, len(detail["events"]) + 1))
    assert all(e["occurred_at"].endswith("Z") for e in detail["events"])

    relationship = await ok(api, "GET", f"{base}/after-sales", "an.li")
    assert relationship["owner"] == "an.li"
    refused = await api.call("POST", f"{base}/after-sales/feedback", "an.li", {"score": 4})
    assert (refused.status_code, refused.json()["rule"]) == (409, "revisit-due")
    renewed = await ok(
        api, "POST", f"{base}/after-sales/renewals", "an.li", {"amount": 60000, "note": "seats"}, 201
    )
    assert renewed["renewals"] == [f"{oid}-renewal-1"]
    closed = await ok(api, "POST", f"{base}/after-sales/close", "mei.chen", {"reason": "company acquired"})
    assert closed["closed"] == "company acquired"
