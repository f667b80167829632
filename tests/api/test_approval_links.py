"""A manager decides a discount from the mail: the approval request reaches her through the real
dispatcher and a real SMTP server, and its approve link, followed through the API, approves it as
her, once. Used, expired, changed, stale links are refused, and so are people the rules do not let
decide: by the authorisation table (the directory changed) or by the deal's own policy (a limit)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.main import create_app
from domain.approval_links import LINK_PATH, LinkClaims, sign, verify
from domain.people import Contact, Directory
from domain.pipeline import SHIPPED_PIPELINES, load_catalog
from runtime.notify_settings import NotifySettings
from runtime.outbox_dispatcher import Dispatcher
from runtime.settings import Settings
from store.event_store import EventStore
from store.outbox_delivery import outbox
from tests.api.conftest import Api, new_id
from tests.factories import ALL_FACTS
from tests.notify_servers import Mailbox, links_in, mailbox

__all__ = ["mailbox"]  # the fixture, used by name
pytestmark = pytest.mark.slow
PUBLIC = "http://dealflow.test"
SHIPPED = load_catalog().people
DIRECTORY = Directory(
    people=SHIPPED.people,
    managers=SHIPPED.managers,
    contacts=(Contact(name="mei.chen", email="mei.chen@example.com", notify=("email",)),),
)
FACTS = {
    "contact": {"first_touch": "call"},
    "needs_analysis": {
        k: ALL_FACTS[k] for k in ("pain_points", "budget", "decision_makers", "expected_close_date")
    },
    "proposal": {"quote": "Q-7", "demo_done": "yes"},
    "negotiation": {"objections_handled": "yes"},
}


async def ok(api: Api, method: str, path: str, who: str, body: Any = None, status: int = 200) -> Any:
    response = await api.call(method, path, who, body)
    assert response.status_code == status, response.text
    return response.json()


async def asking(api: Api, discount: str = "12") -> str:
    """A deal of an.li in negotiation with a discount request pending; its id."""
    oid = new_id("lnk")
    opened = {"opportunity_id": oid, "company": "Acme", "contact_person": "Wang Li", "source": "web"}
    await ok(api, "POST", "/v1/opportunities", "an.li", opened | {"amount": 120000}, 201)
    for stage, facts in FACTS.items():
        await ok(
            api, "POST", f"/v1/opportunities/{oid}/advance", "an.li", {"to_stage": stage, "facts": facts}
        )
    await ok(api, "POST", f"/v1/opportunities/{oid}/discount", "an.li", {"discount": discount})
    return oid


def path_of(link: str) -> str:
    assert link.startswith(PUBLIC + LINK_PATH + "/")
    return link.removeprefix(PUBLIC)


def key_of(api_settings: Settings) -> bytes:
    return api_settings.notify.link_key(api_settings.data_dir)


async def mailed_links(
    api_store: EventStore, api_settings: Settings, mailbox: Mailbox, oid: str
) -> dict[str, str]:
    """Run the dispatcher until mei.chen's mail about `oid` has arrived; its links."""
    given = NotifySettings(
        smtp_host=mailbox.host, smtp_port=mailbox.port, smtp_tls="none", public_url=PUBLIC, backoff_s=0.01
    )
    async with Dispatcher(api_store, DIRECTORY, given, api_settings.data_dir) as dispatcher:
        for _ in range(100):
            await dispatcher.run_once()
            mails = [m for m in mailbox.to("mei.chen@example.com") if oid in str(m["Subject"])]
            if mails:
                return links_in(mails[0])
    raise AssertionError(f"no mail about {oid}: {[e.notice.key for e in await outbox(api_store)][:5]}")


async def test_a_manager_approves_from_the_mail_once(
    api: Api, api_store: EventStore, api_settings: Settings, mailbox: Mailbox
) -> None:
    oid = await asking(api)
    links = await mailed_links(api_store, api_settings, mailbox, oid)
    approve, reject = path_of(links["approve"]), path_of(links["reject"])

    shown = await api.client.get(approve)  # what a mail scanner does: nothing is used
    assert shown.status_code == 200, shown.text
    assert "mei.chen, approve a 12% discount on 120000" in shown.text
    assert shown.headers["referrer-policy"] == "no-referrer"

    token = approve.rsplit("/", 1)[1]
    text, _, mac = token.partition(".")
    tampered = f"{text[:-2]}{'A' if text[-2] != 'A' else 'B'}{text[-1]}.{mac}"
    assert (await api.client.post(f"{LINK_PATH}/{tampered}")).status_code == 404

    used = await api.client.post(approve, data={"comment": "fine by me"})
    assert used.status_code == 200, used.text
    assert "approved" in used.text
    detail = await ok(api, "GET", f"/v1/opportunities/{oid}", "an.li")
    assert Decimal(detail["state"]["approved_discount"]) == 12
    (approved,) = [e for e in detail["events"] if e["type"] == "DiscountApproved"]
    assert approved["actor"] == "mei.chen"
    (voted,) = [e for e in detail["events"] if e["type"] == "DiscountVoted"]
    assert (voted["event"]["approver"], voted["event"]["comment"]) == ("mei.chen", "fine by me")

    again = await api.client.post(approve)
    assert again.status_code == 410
    assert "link-used" in again.text
    assert (await api.client.post(reject)).status_code == 410  # the pair decides once
    assert (await api.client.get(approve)).status_code == 410


async def test_expired_stale_and_unauthorised_links_are_refused(
    api: Api, api_store: EventStore, api_settings: Settings, tmp_path: Path
) -> None:
    oid = await asking(api)
    (notice,) = [
        e.notice
        for e in await outbox(api_store)
        if e.notice.stream_id == oid and e.notice.recipient == "mei.chen"
    ]
    request_id = notice.details["request_id"]
    key = key_of(api_settings)

    def link(
        person: str, *, approve: bool = True, expires: timedelta = timedelta(hours=1), rid: str = request_id
    ) -> str:
        claims = LinkClaims(
            link_id=f"{notice.key}:{person}:{uuid.uuid4().hex}",
            person=person,
            stream_id=oid,
            request_id=rid,
            approve=approve,
            expires_at=datetime.now(UTC) + expires,
        )
        return f"{LINK_PATH}/{sign(claims, key)}"

    expired = await api.client.post(link("mei.chen", expires=-timedelta(seconds=1)))
    assert (expired.status_code, "link-expired" in expired.text) == (410, True)
    # signed with another key: not ours
    foreign = LinkClaims(**verify(link("mei.chen").rsplit("/", 1)[1], key).model_dump())
    assert (await api.client.post(f"{LINK_PATH}/{sign(foreign, b'x' * 32)}")).status_code == 404
    # a request that is not the one pending
    assert (await api.client.post(link("mei.chen", rid="another-request"))).status_code == 409
    # jun.wu is a manager (the authorisation table lets him), but over his 10 % limit: the deal's
    # policy refuses him, and his link is not spent by the refusal
    by_jun = link("jun.wu")
    refused = await api.client.post(by_jun)
    assert refused.status_code == 409, refused.text
    assert "link-used" not in (await api.client.post(by_jun)).text
    # mei.chen is no longer a manager in the directory the API reads: the table refuses her
    pipelines = tmp_path / "pipelines.toml"
    text = SHIPPED_PIPELINES.read_text(encoding="utf-8")
    pipelines.write_text(
        text.replace('name = "mei.chen", role = "manager"', 'name = "mei.chen", role = "legal"')
    )
    moved = create_app(api_settings.model_copy(update={"pipelines_file": pipelines}))
    async with moved.router.lifespan_context(moved):
        transport = httpx.ASGITransport(app=moved)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            forbidden = await client.post(link("mei.chen"))
    assert forbidden.status_code == 403, forbidden.text
    detail = await ok(api, "GET", f"/v1/opportunities/{oid}", "an.li")
    assert detail["state"]["discount_request"]["status"] == "pending"  # nobody decided it
