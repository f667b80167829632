"""Deciding a discount from the links of an approval request's mail (domain/approval_links.py).

A link proves who it was issued to, for which request, which decision, until when; nothing else.
Used, it is the decision of that person exactly as if they had sent it through the API: the
authorisation table (domain/authorization.authorize, with the deal's owner) and then the deal's
own policy (their level, limit, not their own deal) judge it, with them as approver and actor.
So a link of someone who may no longer decide is refused, whatever it says.

A link pair is used once: the use is claimed (store/approval_links.py) before the decision is
sent, and released if the decision did not go through (refused, or a server down), so the person
may try again until it expires. The decision's request id is derived from the link, so a retry
after a lost answer is applied once. Opening a link (`inspect`) never uses it: mail scanners
fetch links.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from app.bootstrap import Dealflow
from app.errors import Refused
from domain.approval_links import BadLink, LinkClaims, use_digest, verify
from domain.approvals import RequestStatus
from domain.authorization import Action, Principal, authorize
from domain.commands import DecideDiscount
from domain.opportunity import OpportunityState
from store.approval_links import claim_use, release_use, was_used

DEFAULT_COMMENT = "decided from the e-mail link"


class LinkRefused(Refused):
    """The link cannot be used: `link-invalid` (not ours, or changed), `link-expired`, `link-used`,
    or `link-stale` (the request it decides is no longer the one pending)."""


@dataclass(frozen=True)
class OpenedLink:
    claims: LinkClaims
    deal: OpportunityState


def link_key(dealflow: Dealflow) -> bytes:
    settings = dealflow.settings
    return settings.notify.link_key(settings.data_dir)


async def inspect(dealflow: Dealflow, token: str) -> OpenedLink:
    """What the link would decide, if it may still be used (it is not used by this)."""
    claims = _verified(dealflow, token)
    if await was_used(await dealflow.connections.store(), use_digest(claims)):
        raise LinkRefused("link-used", "this link has been used already: each decides once")
    deal = await dealflow.queries.show(claims.stream_id)
    request = deal.discount_request
    if request is None or request.request_id != claims.request_id or request.status != RequestStatus.PENDING:
        raise LinkRefused(
            "link-stale",
            f"the discount request this link decides is no longer pending on {claims.stream_id}",
        )
    return OpenedLink(claims, deal)


async def use(dealflow: Dealflow, token: str, comment: str = "") -> OpportunityState:
    """Apply the link's decision as the person it was issued to; the deal's state after it."""
    opened = await inspect(dealflow, token)
    claims = opened.claims
    who = Principal(name=claims.person)
    authorize(who, Action.DECIDE_DISCOUNT, dealflow.catalog.people, opened.deal.owner)
    store = await dealflow.connections.store()
    digest = use_digest(claims)
    if not await claim_use(store, digest, claims.person, claims.stream_id, claims.request_id, claims.approve):
        raise LinkRefused("link-used", "this link has been used already: each decides once")
    cmd = DecideDiscount(
        approver=claims.person,
        approve=claims.approve,
        comment=comment.strip() or DEFAULT_COMMENT,
        actor=who.actor,
    )
    try:
        deals = await dealflow.deals()
        return await deals.decide_discount(claims.stream_id, cmd, request_id=_request_id(digest))
    except BaseException:
        await release_use(store, digest)
        raise


def _verified(dealflow: Dealflow, token: str) -> LinkClaims:
    try:
        claims = verify(token, link_key(dealflow))
    except BadLink as err:
        raise LinkRefused("link-invalid", str(err)) from None
    if claims.expired(datetime.now(UTC)):
        raise LinkRefused("link-expired", f"this link expired at {claims.expires_at:%Y-%m-%d %H:%M} UTC")
    return claims


def _request_id(digest: bytes) -> str:
    return "approval-link-" + hashlib.sha256(digest).hexdigest()[:40]
