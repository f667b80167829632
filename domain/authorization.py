"""Who may do what (权限): the authenticated principal against the people directory.

The principal is whoever proved their identity to a front end (a person by a token, a service by an
API key). They are the actor of what they do: a body naming someone else as approver, signer,
touch author or owner is refused (`actor-is-caller`). Roles come from the directory:

| action | a person may | a service account may |
|---|---|---|
| read deals, pipelines, the inbox | always | with `deals:read` or `deals:write` |
| read reports | always | with `reports:read` |
| open a deal | for themselves; a manager for their team; a director for anyone | with `deals:write` |
| move a deal (all but the decisions) | own; a manager: the team's; a director: any | `deals:write` |
| decide a discount | a manager or a director | never |
| decide a contract | legal or the legal lead | never |
| reconcile, manage service accounts | administrators | never |

The rules here are coarse on purpose: the workflow still applies the deal's own policy (levels,
limits, 会签, no self-approval, who signs when), so a manager allowed here may still be refused there.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.errors import RuleViolation
from domain.people import ADMIN, DIRECTOR, MANAGER, Directory

SERVICE_PREFIX = "service:"


class PrincipalKind(StrEnum):
    PERSON = "person"
    SERVICE = "service"


class Scope(StrEnum):
    DEALS_READ = "deals:read"
    DEALS_WRITE = "deals:write"
    REPORTS_READ = "reports:read"


class Action(StrEnum):
    READ = "read"
    READ_REPORTS = "read-reports"
    OPEN = "open"
    MOVE = "move"
    DECIDE_DISCOUNT = "decide-discount"
    DECIDE_CONTRACT = "decide-contract"
    ADMINISTER = "administer"


DECIDER_ROLES = frozenset({MANAGER, DIRECTOR})
SIGNER_ROLES = frozenset({"legal", "legal_lead"})


class Principal(BaseModel):
    """An authenticated caller: a person of the directory, or a service account with scopes."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: PrincipalKind = PrincipalKind.PERSON
    scopes: frozenset[Scope] = frozenset()

    @property
    def actor(self) -> str:
        """The name recorded on the events this principal causes."""
        return self.name if self.kind is PrincipalKind.PERSON else SERVICE_PREFIX + self.name


class NotAllowed(RuleViolation):
    """The principal may not do this (a front end answers 403); nothing was recorded."""


def authorize(principal: Principal, action: Action, directory: Directory, owner: str | None = None) -> None:
    """Refuse (`NotAllowed`, naming the rule) unless the principal may take `action`; `owner` is the
    deal's owner for the actions on one deal (for OPEN: the owner the new deal would have)."""
    if principal.kind is PrincipalKind.SERVICE:
        _authorize_service(principal, action)
        return
    roles = directory.roles(principal.name)
    if not roles:
        raise NotAllowed("known-person", f"{principal.name} is not in the people directory")
    if action in (Action.READ, Action.READ_REPORTS):
        return
    if action is Action.DECIDE_DISCOUNT:
        _needs_role(principal, roles, DECIDER_ROLES, "decide discounts")
    elif action is Action.DECIDE_CONTRACT:
        _needs_role(principal, roles, SIGNER_ROLES, "sign off contracts")
    elif action is Action.ADMINISTER:
        _needs_role(principal, roles, frozenset({ADMIN}), "administer dealflow")
    else:  # OPEN, MOVE: whose deal it is
        assert owner is not None, f"{action} needs the deal's owner"
        _may_act_for(principal.name, roles, owner, directory)


def _authorize_service(principal: Principal, action: Action) -> None:
    needed = {
        Action.READ: {Scope.DEALS_READ, Scope.DEALS_WRITE},
        Action.READ_REPORTS: {Scope.REPORTS_READ},
        Action.OPEN: {Scope.DEALS_WRITE},
        Action.MOVE: {Scope.DEALS_WRITE},
    }.get(action)
    if needed is None:
        raise NotAllowed(
            "people-decide",
            f"service account {principal.name} may not {action}: only a person may decide or administer",
        )
    if not needed & principal.scopes:
        wanted = " or ".join(sorted(needed))
        raise NotAllowed("scope-required", f"service account {principal.name} needs scope {wanted}")


def _needs_role(principal: Principal, roles: frozenset[str], allowed: frozenset[str], what: str) -> None:
    if not roles & allowed:
        raise NotAllowed(
            "role-required",
            f"{principal.name} ({', '.join(sorted(roles))}) may not {what}:"
            f" needs {' or '.join(sorted(allowed))}",
        )


def _may_act_for(name: str, roles: frozenset[str], owner: str, directory: Directory) -> None:
    if owner == name or DIRECTOR in roles:
        return
    if MANAGER in roles:
        if directory.manages(name, owner):
            return
        raise NotAllowed("team-deals-only", f"{name} manages no rep {owner!r}: not a deal of their team")
    raise NotAllowed("own-deals-only", f"{name} may act only on their own deals, not on {owner!r}'s")


def check_actor_named(principal: Principal, named: str | None, field: str) -> str:
    """The name a command body gives as `field` (approver, signer, author): the caller's own.
    Omitted, it is the caller; naming someone else is refused. A service account may name the
    person it acts for as a touch's author or a deal's owner (checked by the caller per field)."""
    if named is None or named == principal.name:
        return principal.name
    raise NotAllowed("actor-is-caller", f"{field} must be the caller ({principal.name}), not {named!r}")
