"""/v1/approvals/links/{token}: a discount decided from the approve/reject link of a mail.

In the API (not the web app) because it is the API's decision, by the API's rules, for a caller
whose credential is the link itself: no session, no token, no CSRF cookie needed (a forged
request cannot hold the link). A person follows it in a browser, so the answers are small HTML
pages, with the status a program would expect.

- `GET` shows what the link decides and a button: it never uses the link (mail scanners and link
  previews fetch every link of a mail).
- `POST` (the button, with an optional comment) applies the decision as the person the link was
  issued to: app/approval_links.py authorises it as that person's API call and the deal's policy
  judges it. A used, expired, changed or stale link is refused, and so is a person the rules no
  longer let decide.
"""

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse

from api.problems import PROBLEMS
from app import approval_links
from app.bootstrap import Dealflow
from app.errors import AppError, NotFound, Refused, Unavailable
from domain.approval_links import LINK_PATH, MAX_TOKEN
from domain.authorization import NotAllowed
from domain.errors import RuleViolation

_PAGES = {
    403: "the person the link was issued to may not decide (the authorisation table)",
    404: "not an approval link of ours (or changed), or no such deal",
    409: "the deal's policy refuses the decision, or the request is no longer pending",
    410: "the link has expired, or has been used",
    503: "a server did not answer: try again",
}
RESPONSES: dict[int | str, dict[str, object]] = {
    422: PROBLEMS[422],
    **{code: {"description": why, "content": {"text/html": {}}} for code, why in _PAGES.items()},
}
router = APIRouter(prefix=LINK_PATH, tags=["approvals"], responses=RESPONSES)
Token = Annotated[str, Path(max_length=MAX_TOKEN, description="the link's signed token, from the mail")]
STATUS = {"link-invalid": 404, "link-expired": 410, "link-used": 410, "link-stale": 409}


@router.get("/{token}", response_class=HTMLResponse, summary="What an approval link decides (not used)")
async def show_link(request: Request, token: Token) -> HTMLResponse:
    dealflow: Dealflow = request.app.state.dealflow
    try:
        opened = await approval_links.inspect(dealflow, token)
    except (AppError, RuleViolation) as err:
        return _refused(err)
    c, deal = opened.claims, opened.deal
    verb = "Approve" if c.approve else "Reject"
    asked = deal.discount_request
    what = f"a {asked.discount:f}% discount on {asked.amount:f}" if asked else "the discount"
    body = (
        f"<p>{escape(c.person)}, {verb.lower()} {escape(what)} for <b>{escape(deal.opportunity_id)}</b>"
        f" ({escape(deal.company)}, owner {escape(deal.owner)})?</p>"
        '<form method="post"><label>Comment (optional)<br>'
        '<textarea name="comment" maxlength="2000" rows="3" cols="60"></textarea></label><br>'
        f'<button type="submit">{verb}</button></form>'
        f"<p>The link works once, until {c.expires_at:%Y-%m-%d %H:%M} UTC.</p>"
    )
    return _page(f"{verb} the discount?", body)


@router.post("/{token}", response_class=HTMLResponse, summary="Decide with an approval link (once)")
async def use_link(
    request: Request, token: Token, comment: Annotated[str, Form(max_length=2000)] = ""
) -> HTMLResponse:
    dealflow: Dealflow = request.app.state.dealflow
    try:
        state = await approval_links.use(dealflow, token, comment)
    except (AppError, RuleViolation) as err:
        return _refused(err)
    decided = state.discount_request
    status = decided.status.value if decided else "decided"
    return _page(
        "Decision recorded",
        f"<p>The discount request on <b>{escape(state.opportunity_id)}</b> is now {escape(status)}.</p>",
    )


def _refused(err: AppError | RuleViolation) -> HTMLResponse:
    rule = getattr(err, "rule", "refused")
    if isinstance(err, NotAllowed):
        status = 403
    elif isinstance(err, NotFound):
        status = 404
    elif isinstance(err, Unavailable):
        status = 503
    elif isinstance(err, Refused | RuleViolation):
        status = STATUS.get(rule, 409)
    else:
        status = 400
    message = getattr(err, "message", str(err))
    headers = {"Retry-After": "5"} if status == 503 else None
    return _page(
        "Not decided", f"<p>{escape(message)}</p><p><small>rule: {escape(rule)}</small></p>", status, headers
    )


def _page(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · dealflow</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    base = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status, headers=base | (headers or {}))
