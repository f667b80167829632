"""Pages from the Jinja2 templates in web/templates, with the filters they share."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.stages import Stage
from web.session import Viewer, csrf_token, remember_csrf

TEMPLATES = Path(__file__).with_name("templates")
STAGE_LABELS = {
    "identify": "Identify",
    "contact": "Contact",
    "needs_analysis": "Needs analysis",
    "proposal": "Proposal",
    "negotiation": "Negotiation",
    "deal": "Deal",
    "after_sales": "After-sales",
    "lost": "Lost",
}


def money(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)):,.0f}"


def days(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1 / 24:
        return "< 1 h"
    if value < 1:
        return f"{value * 24:.0f} h"
    return f"{value:.1f} d"


def age(since: datetime | None, now: datetime | None = None) -> str:
    if since is None:
        return "—"
    return days(((now or datetime.now(UTC)) - since) / timedelta(days=1))


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """Time left before `moment` ("overdue" once past)."""
    if moment is None:
        return "—"
    left = (moment - (now or datetime.now(UTC))) / timedelta(days=1)
    return "overdue" if left <= 0 else days(left)


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def percent(value: float | Decimal | None) -> str:
    return "—" if value is None else f"{float(value):.0%}"


def stage_label(stage: str | Stage) -> str:
    return STAGE_LABELS.get(str(stage), str(stage).replace("_", " ").capitalize())


def field_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.globals["new_id"] = lambda: uuid.uuid4().hex  # a form's request id: sent twice, applied once
ENV.filters.update(
    money=money,
    days=days,
    age=age,
    until=until,
    when=when,
    percent=percent,
    stage=stage_label,
    label=field_label,
    words=lambda text: str(text).replace("_", " "),
)


def page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    live: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page; `live`: the small endpoint whose answer changes when what the page shows does."""
    html = ENV.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf=csrf_token(request),
        live=live,
        path=request.url.path,
        notice=request.query_params.get("notice"),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    remember_csrf(request, response)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return page(request, "error.html", None, status=status, title=title, message=message)
