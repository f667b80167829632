"""A person at a browser (Debian's Chromium, headless, driven by Playwright) against the web app on
real servers: a manager approves a discount and moves the deal on; a rep finds no approve button
on their own deal and is refused when posting anyway; the dashboard's as-of day changes the
figures. Every page is kept as a screenshot at a laptop's and a phone's size (tests/web/artifacts)."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.bootstrap import Dealflow
from domain.stages import Stage
from tests.web.conftest import WebStack
from tests.web.seed import awaiting_legal, open_deal, won_deal
from web.sign_in import make_link

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"no browser at {CHROMIUM} (apt-get install chromium; .ci/run does)"
)
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}

if os.path.exists(CHROMIUM):
    from playwright.sync_api import Browser, Page, expect, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def seeded(web_stack: WebStack) -> WebStack:
    async def seed(d: Dealflow) -> None:
        await open_deal(d, "acme-web", "an.li", "Acme Robotics", 240_000, Stage.PROPOSAL, 10)
        await open_deal(d, "beta-web", "an.li", "Beta Logistics", 80_000, Stage.PROPOSAL, 12)
        await open_deal(d, "delta-web", "chen.zhao", "Delta Pharma", 500_000, Stage.CONTACT)
        await won_deal(d, "omega-web", "chen.zhao", "Omega Retail", 150_000)
        await won_deal(d, "sigma-web", "bo.wang", "Sigma Energy", 320_000)
        await awaiting_legal(d, "kappa-web", "bo.wang", "Kappa Bank", 410_000)

    web_stack.call(seed)
    return web_stack


def shoot(page: "Page", artifacts: Path, name: str) -> None:
    """The page as it looks now at both sizes, whole; every field of it labelled."""
    assert unlabelled(page) == [], f"{name}: fields without a label"
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 768})


def unlabelled(page: "Page") -> list[str]:
    """The form fields of the page that no label names (a screen reader could not say them)."""
    found: list[str] = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)"""
    )
    return found


def sign_in_as(browser: "Browser", stack: WebStack, person: str, artifacts: Path | None = None) -> "Page":
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto(f"{stack.url}/web/inbox")
    expect(page.get_by_role("heading", name="Sign in to dealflow")).to_be_visible()
    if artifacts is not None:
        shoot(page, artifacts, "sign-in")
    page.get_by_label("Who are you?").select_option(person)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Approvals", exact=True)).to_be_visible()
    return page


def test_a_manager_approves_a_discount_and_sees_the_deal_move_on(
    browser: "Browser", seeded: WebStack, artifacts: Path
) -> None:
    page = sign_in_as(browser, seeded, "mei.chen", artifacts)
    shoot(page, artifacts, "inbox")
    request = page.locator("li.request", has_text="Acme Robotics")
    expect(request).to_contain_text("10%")
    expect(request).to_contain_text("an.li")
    request.get_by_label("Comment").fill("ok against the competitor's quote")
    request.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status").filter(has_text="Approved acme-web")).to_be_visible()
    expect(page.locator("li.request", has_text="Acme Robotics")).to_have_count(0)
    expect(page.get_by_role("table")).to_contain_text("acme-web")  # what I decided before

    page.get_by_role("link", name="Board", exact=True).click()
    column = page.locator("section.column", has=page.get_by_role("heading", name="Proposal"))
    expect(column).to_contain_text("Acme Robotics")
    shoot(page, artifacts, "board")
    column.get_by_role("link", name="Acme Robotics").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Discount of 10% approved")
    page.get_by_label("Quote", exact=True).fill("Q-2026-17")
    page.get_by_label("Demo done").fill("yes, on site")
    page.get_by_label("Quoted amount").fill("216,000")
    shoot(page, artifacts, "deal")
    page.get_by_role("button", name="Move to Negotiation").click()
    expect(page.get_by_role("status").filter(has_text="Moved to negotiation")).to_be_visible()

    page.get_by_role("link", name="Board", exact=True).click()
    negotiation = page.locator("section.column", has=page.get_by_role("heading", name="Negotiation"))
    expect(negotiation).to_contain_text("Acme Robotics")
    expect(negotiation).to_contain_text("216,000")
    proposal = page.locator("section.column", has=page.get_by_role("heading", name="Proposal"))
    expect(proposal).not_to_contain_text("Acme Robotics")


def test_a_rep_has_no_approve_button_and_is_refused_when_posting(
    browser: "Browser", seeded: WebStack, artifacts: Path
) -> None:
    link = seeded.call(lambda d: make_link(d, "an.li", seeded.url))
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You decide no discounts")).to_be_visible()
    page.goto(f"{seeded.url}/web/deals/beta-web")
    expect(page.get_by_role("heading", name="Beta Logistics")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("12% · pending")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Log")).to_be_visible()  # their own deal: they work it
    shoot(page, artifacts, "deal-rep")
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "dealflow_csrf")
    answer = page.request.post(
        f"{seeded.url}/web/deals/beta-web/discount/decide",
        form={"csrf": csrf, "verdict": "approve", "comment": "approving my own"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "Not yours to do" in answer.text()
    page.goto(f"{seeded.url}/web/after-sales")
    shoot(page, artifacts, "after-sales")
    page.goto(link)  # the link was used: it signs nobody in again
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("used, expired")


def test_the_dashboard_as_of_picker_changes_the_figures(
    browser: "Browser", seeded: WebStack, artifacts: Path
) -> None:
    page = sign_in_as(browser, seeded, "hua.zhang")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    opened = page.locator("[data-figure=open]")
    expect(opened).not_to_have_text("0")
    today = page.locator("[data-figure=approvals]").inner_text()
    assert int(today) >= 2
    shoot(page, artifacts, "dashboard")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    page.get_by_label("As of").fill(yesterday)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=f"Dashboard as of {yesterday}")).to_be_visible()
    expect(page.locator("[data-figure=open]")).to_have_text("0")
    expect(page.locator("[data-figure=approvals]")).to_have_text("0")
    shoot(page, artifacts, "dashboard-yesterday")


def test_legal_signs_off_and_the_board_updates_itself(
    browser: "Browser", seeded: WebStack, artifacts: Path
) -> None:
    page = sign_in_as(browser, seeded, "lin.ma")
    page.goto(f"{seeded.url}/web/deals/kappa-web")
    expect(page.locator(".timeline")).to_contain_text("Clause checks passed")
    shoot(page, artifacts, "deal-legal")
    page.get_by_role("button", name="Sign off").click()
    expect(page.get_by_role("status").filter(has_text="Contract signed off")).to_be_visible()
    page.goto(f"{seeded.url}/web/deals/omega-web")
    expect(page.locator(".timeline")).to_contain_text("Won: after-sales begins")
    shoot(page, artifacts, "deal-won")

    page.goto(f"{seeded.url}/web/board")
    expect(page.locator("section.column")).not_to_contain_text(["Zeta Mining"])
    seeded.call(lambda d: open_deal(d, "zeta-web", "xiao.a", "Zeta Mining", 60_000, Stage.CONTACT))
    # nobody reloads: the page polls /web/live and reloads itself when an event is stored
    column = page.locator("section.column", has=page.get_by_role("heading", name="Contact"))
    expect(column).to_contain_text("Zeta Mining", timeout=15_000)
