"""The web app over HTTP, no browser: sign-in and sessions, CSRF, authorisation on every POST, and
each page rendering from real servers (PostgreSQL, Temporal, a worker)."""

import re
from collections.abc import Iterator

import httpx
import pytest

from domain.stages import Stage
from tests.web.conftest import WebStack
from tests.web.seed import open_deal
from web.sign_in import make_link


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found[1]


CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def client_of(stack: WebStack) -> httpx.Client:
    client = httpx.Client(base_url=stack.url, follow_redirects=False, timeout=30)
    CLIENTS.append(client)
    return client


def signed_in(stack: WebStack, person: str) -> httpx.Client:
    client = client_of(stack)
    page = client.get("/web/sign-in")
    answer = client.post(
        "/web/sign-in", data={"person": person, "csrf": _csrf(page.text), "next": "/web/inbox"}
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture(scope="module")
def deals(web_stack: WebStack) -> WebStack:
    web_stack.call(lambda d: open_deal(d, "view-gamma", "bo.wang", "Gamma Foods", 90_000, Stage.PROPOSAL, 8))
    return web_stack


def test_pages_need_a_session(web_stack: WebStack) -> None:
    with httpx.Client(base_url=web_stack.url) as client:
        for path in ("/web/inbox", "/web/board", "/web/dashboard", "/web/after-sales", "/web/deals/x"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/web/sign-in?next=")
        assert client.get("/web/live").status_code == 303
    with httpx.Client(base_url=web_stack.url, cookies={"dealflow_session": "forged.token.here"}) as forger:
        assert forger.get("/web/inbox", follow_redirects=False).status_code == 303


def test_the_picker_signs_in_and_sign_out_revokes_the_token(web_stack: WebStack) -> None:
    client = signed_in(web_stack, "mei.chen")
    token = client.cookies["dealflow_session"]
    inbox = client.get("/web/inbox")
    assert inbox.status_code == 200
    assert "mei.chen" in inbox.text
    answer = client.post("/web/sign-out", data={"csrf": _csrf(inbox.text)})
    assert answer.status_code == 303
    # The token itself is refused from now on, even if someone kept a copy.
    with httpx.Client(base_url=web_stack.url, cookies={"dealflow_session": token}) as thief:
        assert thief.get("/web/inbox", follow_redirects=False).status_code == 303


def test_a_form_without_its_csrf_token_is_refused(web_stack: WebStack) -> None:
    client = signed_in(web_stack, "mei.chen")
    assert client.post("/web/sign-out", data={}).status_code == 403
    assert client.post("/web/deals/x/touch", data={"csrf": "not-mine"}).status_code == 403


def test_a_one_time_link_works_once(web_stack: WebStack) -> None:
    link = web_stack.call(lambda d: make_link(d, "an.li", web_stack.url))
    client = client_of(web_stack)
    page = client.get(link.removeprefix(web_stack.url))
    assert page.status_code == 200  # the GET shows a button: it uses nothing
    code = re.search(r'name="code" value="([^"]+)"', page.text)
    assert code
    form = {"csrf": _csrf(page.text), "code": code[1]}
    assert client.post("/web/sign-in/link", data=form).status_code == 303
    assert "an.li" in client.get("/web/inbox").text
    again = client_of(web_stack)
    page = again.get(link.removeprefix(web_stack.url))
    assert (
        again.post("/web/sign-in/link", data={"csrf": _csrf(page.text), "code": code[1]}).status_code == 403
    )


def test_a_rep_gets_403_deciding_a_discount(deals: WebStack) -> None:
    rep = signed_in(deals, "bo.wang")
    page = rep.get("/web/deals/view-gamma")
    assert page.status_code == 200
    assert "Approve" not in page.text
    assert "Gamma Foods" in page.text
    form = {"csrf": _csrf(page.text), "verdict": "approve", "comment": "mine"}
    assert rep.post("/web/deals/view-gamma/discount/decide", data=form).status_code == 403
    # and a rep of another team may not move the deal either
    other = signed_in(deals, "dai.liu")
    page = other.get("/web/deals/view-gamma")
    assert "Move to" not in page.text
    form = {"csrf": _csrf(page.text), "kind": "call", "note": "not mine"}
    assert other.post("/web/deals/view-gamma/touch", data=form).status_code == 403


def test_every_page_renders_for_a_manager(deals: WebStack) -> None:
    client = signed_in(deals, "mei.chen")
    inbox = client.get("/web/inbox")
    assert "view-gamma" in inbox.text
    assert "8%" in inbox.text
    board = client.get("/web/board", params={"owner": "bo.wang", "pipeline": "software"})
    assert "Gamma Foods" in board.text
    assert "Server-Timing" in board.headers
    assert "<svg" in client.get("/web/dashboard").text
    assert client.get("/web/dashboard", params={"as_of": "2020-01-01"}).status_code == 200
    assert client.get("/web/dashboard", params={"as_of": "not-a-day"}).status_code == 400
    assert client.get("/web/after-sales").status_code == 200
    assert client.get("/web/deals/nobody-here").status_code == 404
    assert client.get("/web/live", params={"deal": "view-gamma"}).json()["version"] > 0


async def test_dealflow_token_web_prints_a_link_that_signs_in(
    web_stack: WebStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    assert web_stack.settings is not None
    monkeypatch.setenv("DATABASE_URL", str(web_stack.settings.database_url))
    monkeypatch.setenv("DEALFLOW_DATA_DIR", str(web_stack.settings.data_dir))
    assert await main(["token", "--person", "jun.wu", "--web", "--url", web_stack.url]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith(f"{web_stack.url}/web/sign-in/link?code=")
    client = client_of(web_stack)
    page = client.get(link.removeprefix(web_stack.url))
    code = re.search(r'name="code" value="([^"]+)"', page.text)
    assert code
    assert (
        client.post("/web/sign-in/link", data={"csrf": _csrf(page.text), "code": code[1]}).status_code == 303
    )
    assert "jun.wu" in client.get("/web/inbox").text
    assert await main(["token", "--person", "stranger", "--web"]) == 2


async def test_the_http_api_serves_the_pages_beside_its_routes(web_stack: WebStack) -> None:
    from api.main import create_app

    assert web_stack.settings is not None
    app = create_app(web_stack.settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        page = await client.get("/web/sign-in")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        form = {"person": "hua.zhang", "csrf": _csrf(page.text), "next": "/web/board"}
        answer = await client.post("/web/sign-in", data=form)
        assert answer.status_code == 303
        assert (await client.get("/web/board")).status_code == 200
        assert not [p for p in (await client.get("/openapi.json")).json()["paths"] if p.startswith("/web")]
        # a page's session is a browser's: the API's own routes still want a bearer token
        assert (await client.get("/approvals")).status_code in (401, 404)
