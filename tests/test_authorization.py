"""The authorisation table (domain/authorization.py) as a table: who x action x whose deal: allowed,
or refused by which rule. The directory is the shipped pipeline file's: an.li reports to mei.chen,
dai.liu to jun.wu; hua.zhang directs; lin.ma is legal, qiang.he the legal lead; yan.sun administers.
tests/api/test_authorization_api.py checks the same table end to end, as HTTP statuses."""

import pytest

from domain.authorization import (
    Action,
    NotAllowed,
    Principal,
    PrincipalKind,
    Scope,
    authorize,
    check_actor_named,
)
from domain.pipeline import load_catalog

DIRECTORY = load_catalog().people
OK = None
R, RR, OP, M = Action.READ, Action.READ_REPORTS, Action.OPEN, Action.MOVE
DD, DC, AD = Action.DECIDE_DISCOUNT, Action.DECIDE_CONTRACT, Action.ADMINISTER
SERVICES = {
    "crm": frozenset({Scope.DEALS_WRITE}),
    "bi": frozenset({Scope.REPORTS_READ}),
    "viewer": frozenset({Scope.DEALS_READ}),
    "none": frozenset[Scope](),
}


def who(name: str) -> Principal:
    if name.startswith("service:"):
        service = name.removeprefix("service:")
        return Principal(name=service, kind=PrincipalKind.SERVICE, scopes=SERVICES[service])
    return Principal(name=name)


TABLE: list[tuple[str, Action, str | None, str | None]] = [
    # a rep: their own deals, every read
    ("an.li", R, None, OK),
    ("an.li", RR, None, OK),
    ("an.li", OP, "an.li", OK),
    ("an.li", OP, "bo.wang", "own-deals-only"),
    ("an.li", M, "an.li", OK),
    ("an.li", M, "dai.liu", "own-deals-only"),
    ("an.li", DD, "an.li", "role-required"),
    ("an.li", DC, "an.li", "role-required"),
    ("an.li", AD, None, "role-required"),
    # the manager of the team, and another manager
    ("mei.chen", OP, "an.li", OK),
    ("mei.chen", M, "an.li", OK),
    ("mei.chen", M, "dai.liu", "team-deals-only"),
    ("mei.chen", OP, "dai.liu", "team-deals-only"),
    ("mei.chen", DD, "an.li", OK),
    ("mei.chen", DC, "an.li", "role-required"),
    ("mei.chen", AD, None, "role-required"),
    ("jun.wu", M, "an.li", "team-deals-only"),
    ("jun.wu", M, "dai.liu", OK),
    ("jun.wu", DD, "dai.liu", OK),
    # the director: any deal
    ("hua.zhang", OP, "an.li", OK),
    ("hua.zhang", M, "dai.liu", OK),
    ("hua.zhang", DD, "an.li", OK),
    ("hua.zhang", DC, "an.li", "role-required"),
    # legal signs, and moves nobody's deals
    ("lin.ma", DC, "an.li", OK),
    ("qiang.he", DC, "dai.liu", OK),
    ("lin.ma", DD, "an.li", "role-required"),
    ("lin.ma", M, "an.li", "own-deals-only"),
    ("lin.ma", R, None, OK),
    # the administrator
    ("yan.sun", AD, None, OK),
    ("yan.sun", M, "an.li", "own-deals-only"),
    ("yan.sun", DD, "an.li", "role-required"),
    # a stranger
    ("nobody", R, None, "known-person"),
    ("nobody", M, "nobody", "known-person"),
    # service accounts: by scope, and never deciding
    ("service:crm", R, None, OK),
    ("service:crm", OP, "an.li", OK),
    ("service:crm", M, "dai.liu", OK),
    ("service:crm", RR, None, "scope-required"),
    ("service:crm", DD, "an.li", "people-decide"),
    ("service:crm", DC, "an.li", "people-decide"),
    ("service:crm", AD, None, "people-decide"),
    ("service:bi", RR, None, OK),
    ("service:bi", R, None, "scope-required"),
    ("service:bi", M, "an.li", "scope-required"),
    ("service:viewer", R, None, OK),
    ("service:viewer", OP, "an.li", "scope-required"),
    ("service:none", R, None, "scope-required"),
]


@pytest.mark.parametrize(("name", "action", "owner", "rule"), TABLE)
def test_who_may_do_what(name: str, action: Action, owner: str | None, rule: str | None) -> None:
    if rule is None:
        authorize(who(name), action, DIRECTORY, owner)
        return
    with pytest.raises(NotAllowed) as refused:
        authorize(who(name), action, DIRECTORY, owner)
    assert refused.value.rule == rule


def test_every_action_and_role_is_in_the_table() -> None:
    assert {action for _, action, _, _ in TABLE} == set(Action)
    people = {name for name, _, _, _ in TABLE if not name.startswith("service:")}
    assert set(DIRECTORY.names()) - people <= {"bo.wang", "chen.zhao", "dai.liu", "fang.xu", "xiao.a"}


def test_the_caller_is_the_actor() -> None:
    mei = who("mei.chen")
    assert check_actor_named(mei, None, "approver") == "mei.chen"
    assert check_actor_named(mei, "mei.chen", "approver") == "mei.chen"
    with pytest.raises(NotAllowed) as refused:
        check_actor_named(mei, "hua.zhang", "approver")
    assert refused.value.rule == "actor-is-caller"
    assert "approver must be the caller (mei.chen)" in refused.value.message
    assert who("service:crm").actor == "service:crm"
    assert mei.actor == "mei.chen"
