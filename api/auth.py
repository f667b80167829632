"""Who calls, and what they may do: every route but /healthz, /readyz and the docs authenticates
(`Authorization: Bearer <token or API key>`, app/identity.py); each route then authorises its
action by the table in domain/authorization.py, with the deal's owner for actions on one deal.

The authenticated principal is the actor: every command carries `actor=principal.actor`, and a
body naming someone else as approver, signer, author or owner is refused (`actor-is-caller`)."""

import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPBearer

from api.audit import note
from app.bootstrap import Dealflow
from app.deal_client import DealClient
from domain.authorization import (
    Action,
    NotAllowed,
    Principal,
    PrincipalKind,
    authorize,
    check_actor_named,
)
from domain.people import DIRECTOR, MANAGER

IDEMPOTENCY_KEY_MAX = 200
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,200}$"  # printable ASCII, no spaces
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
# Shown in the OpenAPI document (the docs' "Authorize" button); the header is read below.
bearer = HTTPBearer(auto_error=False, description="a dealflow token (JWT) or a service account's API key")


class Owners:
    """Each deal's owner, cached: an opportunity's owner never changes."""

    def __init__(self, dealflow: Dealflow, size: int = 100_000) -> None:
        self._dealflow = dealflow
        self._known: OrderedDict[str, str] = OrderedDict()
        self._size = size

    async def of(self, opportunity_id: str) -> str:
        owner = self._known.get(opportunity_id)
        if owner is None:
            owner = (await self._dealflow.queries.show(opportunity_id)).owner
            self.remember(opportunity_id, owner)
        return owner

    def remember(self, opportunity_id: str, owner: str) -> None:
        self._known[opportunity_id] = owner
        if len(self._known) > self._size:
            self._known.popitem(last=False)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request, and what the routes need to serve them."""

    principal: Principal
    dealflow: Dealflow
    owners: Owners
    request: Request

    @property
    def actor(self) -> str:
        return self.principal.actor

    @property
    def is_service(self) -> bool:
        return self.principal.kind is PrincipalKind.SERVICE

    async def deals(self) -> DealClient:
        return await self.dealflow.deals()

    def may(self, action: Action) -> None:
        """Authorise an action that concerns no one deal (reading, reports, administration)."""
        authorize(self.principal, action, self.dealflow.catalog.people, None)

    async def may_on(self, action: Action, opportunity_id: str) -> str:
        """Authorise an action on one deal; returns its owner (None needed for a service)."""
        note(self.request, deal_id=opportunity_id)
        if self.is_service:
            authorize(self.principal, action, self.dealflow.catalog.people, None)
            return ""
        owner = await self.owners.of(opportunity_id)
        authorize(self.principal, action, self.dealflow.catalog.people, owner)
        return owner

    def may_open_for(self, owner: str | None) -> str:
        """The owner a new deal gets: the caller (a rep opens for themselves), a rep of their team
        for a manager, anyone for a director or a service (which must name them)."""
        if self.is_service:
            authorize(self.principal, Action.OPEN, self.dealflow.catalog.people, owner)
            if owner is None:
                raise NotAllowed("owner-named", "a service account opens a deal for a rep: name the owner")
            return owner
        roles = self.dealflow.catalog.people.roles(self.principal.name)
        if owner is None or not roles & {MANAGER, DIRECTOR}:
            owner = check_actor_named(self.principal, owner, "owner")
        authorize(self.principal, Action.OPEN, self.dealflow.catalog.people, owner)
        return owner

    def named(self, given: str | None, field: str, *, service_may_name: bool = False) -> str:
        """The person a body names as `field` (approver, signer, author): the caller; a service
        account may name the person it acts for where `service_may_name`."""
        if self.is_service:
            if given is not None and service_may_name:
                return given
            if given is not None:
                raise NotAllowed("actor-is-caller", f"{field} must be the caller, not {given!r}")
            return self.actor
        return check_actor_named(self.principal, given, field)


async def principal(request: Request) -> Principal:
    """The caller behind the Authorization header (401 `Unauthenticated` otherwise)."""
    dealflow: Dealflow = request.app.state.dealflow
    found = await (await dealflow.identity()).authenticate(request.headers.get("authorization"))
    note(request, principal=found.actor)
    return found


async def caller(
    request: Request, who: Annotated[Principal, Depends(principal)], _: Annotated[object, Depends(bearer)]
) -> Caller:
    return Caller(who, request.app.state.dealflow, request.app.state.owners, request)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=IDEMPOTENCY_KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="the command's request id: the same key again applies the command at most once"
        " and answers as the first time (printable ASCII, no spaces, at most 200 characters)",
    ),
]


def request_id(request: Request, key: IdempotencyKey = None) -> str:
    """The command's request id: the Idempotency-Key sent, or a new one."""
    rid = key if key is not None and _KEY.match(key) else str(uuid.uuid4())
    note(request, request_id=rid)
    return rid


Reader = Annotated[Caller, Depends(caller)]
RequestId = Annotated[str, Depends(request_id)]
