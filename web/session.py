"""Who is looking at a page: the session cookie checked as an API token is, the CSRF token every
form carries, and the route class that turns the application's errors into pages."""

import hmac
import logging
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.datastructures import FormData

from app.bootstrap import Dealflow
from app.errors import Unauthenticated
from domain.authorization import Action, NotAllowed, Principal, PrincipalKind, authorize
from web.sign_in import SESSION_HOURS, is_signed_out

SESSION_COOKIE = "dealflow_session"
CSRF_COOKIE = "dealflow_csrf"
log = logging.getLogger("dealflow.web")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person of one request."""

    principal: Principal
    token: str
    dealflow: Dealflow

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def roles(self) -> frozenset[str]:
        return self.dealflow.catalog.people.roles(self.name)

    def may(self, action: Action, owner: str | None = None) -> bool:
        try:
            authorize(self.principal, action, self.dealflow.catalog.people, owner)
        except NotAllowed:
            return False
        return True

    def check(self, action: Action, owner: str | None = None) -> None:
        """Refuse (403) unless the viewer may take `action` (on a deal of `owner`)."""
        authorize(self.principal, action, self.dealflow.catalog.people, owner)


class SignInNeeded(Exception):
    """No valid session: the page sends the browser to the sign-in page."""


class BadForm(Exception):
    """A form without its CSRF token, or with another session's."""


def dealflow_of(request: Request) -> Dealflow:
    dealflow: Dealflow = request.app.state.dealflow
    return dealflow


async def current_viewer(request: Request) -> Viewer | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    dealflow = dealflow_of(request)
    try:
        principal = await (await dealflow.identity()).authenticate(f"Bearer {token}")
    except Unauthenticated:
        return None
    if principal.kind is not PrincipalKind.PERSON or await is_signed_out(dealflow, token):
        return None
    return Viewer(principal, token, dealflow)


async def viewer(request: Request) -> Viewer:
    found = await current_viewer(request)
    if found is None:
        raise SignInNeeded
    audit_note(request, principal=found.principal.actor)
    return found


def audit_note(request: Request, **fields: str) -> None:
    """Tell the HTTP API's audit line (api/audit.py, when the API serves these pages) what it
    learnt: who sent a form, about which deal. Nothing happens when no audit record exists."""
    record = request.scope.get("state", {}).get("audit")
    for name, value in fields.items():
        if record is not None and hasattr(record, name):
            setattr(record, name, value)


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (made now if it has none; `remember_csrf` sets it)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return token


def remember_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="lax", secure=_secure(request), path="/web"
        )


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches this browser's cookie."""
    form = await request.form()
    sent, kept = form.get("csrf"), request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not kept or not hmac.compare_digest(sent, kept):
        raise BadForm
    return form


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/web",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/web", httponly=True, samesite="lax", secure=_secure(request)
    )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"
