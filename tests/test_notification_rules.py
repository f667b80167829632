"""Without servers: how people want to be told (the directory's `email`, `notify`, `contacts`, old
files still valid), approval link tokens (signed, tamper-evident, expiring), the outbox rows an
approval request makes, and what a notification says on each channel."""

import json
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from activities.approval_notices import approval_notices
from domain.approval_links import LINK_HOURS, BadLink, LinkClaims, expiry, sign, use_digest, verify
from domain.negotiation_events import DiscountEscalated, DiscountRequested
from domain.pipeline import SHIPPED_PIPELINES, PipelineCatalog, PipelineConfigError
from runtime.outbox_messages import render
from store.outbox_delivery import Notice

KEY = b"k" * 32
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PIPELINE = tomllib.loads(SHIPPED_PIPELINES.read_text(encoding="utf-8"))["pipelines"]


def test_people_say_how_they_are_told_and_old_files_need_not() -> None:
    catalog = PipelineCatalog.from_mapping(
        {
            "people": [
                {
                    "name": "mei.chen",
                    "role": "manager",
                    "limit": 15,
                    "email": "mei@example.com",
                    "notify": ["email"],
                },
                {"name": "jun.wu", "role": "manager", "limit": 10},
            ],
            "managers": {"an.li": "mei.chen"},
            "contacts": [{"name": "an.li", "email": "an.li@example.com", "notify": ["webhook", "email"]}],
            "pipelines": PIPELINE,
        }
    )
    people = catalog.people
    assert (people.contact("mei.chen").email, people.contact("mei.chen").notify) == (
        "mei@example.com",
        ("email",),
    )
    assert people.contact("an.li").notify == ("webhook", "email")
    assert (people.contact("jun.wu").email, people.contact("jun.wu").notify) == (None, ("email", "webhook"))
    # the approval policies read the approvers without their addresses
    approvers = catalog.pipelines["software"].approvals
    assert approvers is not None
    assert [(a.name, a.limit) for a in approvers.approvers] == [
        ("mei.chen", Decimal(15)),
        ("jun.wu", Decimal(10)),
    ]
    shipped = PipelineCatalog.from_mapping(tomllib.loads(SHIPPED_PIPELINES.read_text(encoding="utf-8")))
    assert shipped.people.contact("an.li").email is None


@pytest.mark.parametrize(
    "contact",
    [
        {"name": "x", "email": "not an address"},
        {"name": "x", "notify": ["sms"]},
        {"name": "x", "pager": "1"},
    ],
)
def test_contact_details_are_checked(contact: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="contacts"):
        PipelineCatalog.from_mapping({"contacts": [contact], "pipelines": PIPELINE})


def test_a_link_verifies_only_as_signed() -> None:
    claims = LinkClaims(
        link_id="evt-1:mei.chen",
        person="mei.chen",
        stream_id="acme-01",
        request_id="r-1",
        approve=True,
        expires_at=T0 + timedelta(hours=2),
    )
    token = sign(claims, KEY)
    assert verify(token, KEY) == claims
    assert sign(claims, KEY) == token  # the same notification, the same link
    for bad in (token + "x", token.replace(".", ".A"), "x" + token, "", "a.b", sign(claims, b"o" * 32)):
        with pytest.raises(BadLink):
            verify(bad, KEY)
    other = claims.model_copy(update={"approve": False})
    forged = f"{sign(other, KEY).split('.')[0]}.{token.split('.')[1]}"  # the decision changed
    with pytest.raises(BadLink):
        verify(forged, KEY)
    assert use_digest(claims) == use_digest(other)  # approve and reject: one use between them
    assert (claims.expired(T0), claims.expired(T0 + timedelta(hours=2))) == (False, True)
    assert expiry(T0, None) == T0 + timedelta(hours=LINK_HOURS)
    assert expiry(T0, T0 + timedelta(hours=5)) == T0 + timedelta(hours=5)


def test_an_approval_request_tells_each_approver_and_its_mail_carries_the_links() -> None:
    common = {
        "stream_id": "acme-01",
        "occurred_at": T0,
        "request_id": "r-1",
        "deadline": T0 + timedelta(hours=48),
    }
    asked = DiscountRequested(
        version=5, event_id="e5", discount=Decimal(12), amount=Decimal(120000), level=0,
        level_name="manager", approvers=("mei.chen", "hua.zhang"), **common,
    )  # fmt: skip
    escalated = DiscountEscalated(
        version=6,
        event_id="e6",
        from_level=0,
        to_level=1,
        level_name="director",
        approvers=("hua.zhang",),
        **common,
    )
    own = DiscountRequested(
        version=7, event_id="e7", discount=Decimal(3), amount=Decimal(1), level=None, level_name="owner",
        approvers=("an.li",), stream_id="acme-01", occurred_at=T0, request_id="r-2",
    )  # fmt: skip
    notices = approval_notices([asked, escalated, own])
    assert [(n.key, n.recipient, n.kind) for n in notices] == [
        ("e5:mei.chen", "mei.chen", "DiscountRequested"),
        ("e5:hua.zhang", "hua.zhang", "DiscountRequested"),
        ("e6:hua.zhang", "hua.zhang", "DiscountEscalated"),
    ]
    first = notices[0]
    assert "a 12% discount on 120000 (manager) awaits your decision" in first.message
    notice = Notice(first.key, first.recipient, first.kind, first.stream_id, first.message, T0, first.details)
    out = render(notice, KEY, "https://deals.example.com/")
    assert out.subject == "[dealflow] Discount approval requested: acme-01"
    body = json.loads(out.body)
    approve = body["links"]["approve"]
    assert approve.startswith("https://deals.example.com/v1/approvals/links/")
    assert f"Approve: {approve}\n" in out.text
    claims = verify(approve.rsplit("/", 1)[1], KEY)
    assert (claims.person, claims.request_id, claims.approve) == ("mei.chen", "r-1", True)
    assert claims.expires_at == T0 + timedelta(hours=48)
    assert render(notice, KEY, "https://deals.example.com/") == out  # every attempt sends the same
    reminder = Notice("e9", "an.li", "StallReminded", "acme-01", "acme-01 is idle", T0)
    assert "links" not in json.loads(render(reminder, KEY, "http://x").body)


def test_a_bad_email_is_named() -> None:
    with pytest.raises(PipelineConfigError, match="email"):
        PipelineCatalog.from_mapping(
            {"people": [{"name": "m", "role": "manager", "limit": 1, "email": "@"}], "pipelines": PIPELINE}
        )
