"""Discount approval (报价审批权限、折扣政策): who may grant how much, and how a request moves.

A pipeline's policy lets the deal's owner grant a small discount alone; above that the request goes
to the first level whose limits cover it (discount, and optionally the deal amount), and escalates
level by level when nobody answers in time, expiring after the top. A level is decided by any one of
its approvers (或签) or needs all of them (会签). An approver may not decide a deal they own, nor
above their personal limit, nor vote twice on one request.
"""

from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.errors import RuleViolation

OWNER_LEVEL = "owner"


class ApprovalMode(StrEnum):
    ANY = "any"  # 或签: one approval decides
    ALL = "all"  # 会签: every approver of the level must approve


class Approver(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: str
    limit: Decimal = Field(ge=0, le=100)  # the highest discount (%) this person may approve


class ApprovalLevel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: str
    max_discount: Decimal = Field(ge=0, le=100)
    max_amount: Decimal | None = None  # route larger deals past this level
    mode: ApprovalMode = ApprovalMode.ANY

    def covers(self, discount: Decimal, amount: Decimal) -> bool:
        return discount <= self.max_discount and (self.max_amount is None or amount <= self.max_amount)


class ApprovalPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    owner_limit: Decimal = Field(default=Decimal(0), ge=0, le=100)
    owner_max_amount: Decimal | None = None
    timeout_hours: float = Field(default=48, gt=0)
    levels: tuple[ApprovalLevel, ...] = ()
    approvers: tuple[Approver, ...] = ()

    @model_validator(mode="after")
    def _levels_ascend(self) -> "ApprovalPolicy":
        limits = [lvl.max_discount for lvl in self.levels]
        if limits != sorted(limits):
            raise ValueError("approval levels must be listed from the lowest limit to the highest")
        return self

    def owner_may_grant(self, discount: Decimal, amount: Decimal) -> bool:
        return discount <= self.owner_limit and (
            self.owner_max_amount is None or amount <= self.owner_max_amount
        )

    def first_level(self, discount: Decimal, amount: Decimal) -> int | None:
        """Index of the lowest level that may decide this request, or None if no level may."""
        return next((i for i, lvl in enumerate(self.levels) if lvl.covers(discount, amount)), None)

    def next_level(self, current: int, discount: Decimal, amount: Decimal) -> int | None:
        return next(
            (i for i in range(current + 1, len(self.levels)) if self.levels[i].covers(discount, amount)), None
        )

    def group(self, level: int, owner: str) -> tuple[str, ...]:
        """The people who decide at a level (never the deal's owner)."""
        role = self.levels[level].role
        return tuple(a.name for a in self.approvers if a.role == role and a.name != owner)

    def may_decide(self, level: int, discount: Decimal, owner: str) -> tuple[str, ...]:
        """Everyone who may decide a request of `discount` at `level`: its own group or anyone of a
        higher level (a director may step in early), within their limit, never the deal's owner."""
        roles = {lvl.role for lvl in self.levels[level:]}
        return tuple(
            a.name for a in self.approvers if a.role in roles and a.name != owner and discount <= a.limit
        )

    def approver(self, name: str) -> Approver:
        for a in self.approvers:
            if a.name == name:
                return a
        raise RuleViolation("known-approver", f"{name!r} is not an approver in this pipeline's policy")


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class DiscountRequest(BaseModel):
    request_id: str
    discount: Decimal
    amount: Decimal
    requested_at: AwareDatetime
    level: int | None  # index into the policy's levels; None when the owner granted it alone
    level_since: AwareDatetime
    status: RequestStatus = RequestStatus.PENDING
    votes: dict[str, bool] = Field(default_factory=dict)  # approver -> approve? at the current level
    voted: list[str] = Field(default_factory=list)  # everyone who voted on this request, any level
    decided_by: list[str] = Field(default_factory=list)
    comment: str = ""


def check_request(policy: ApprovalPolicy, discount: Decimal, amount: Decimal) -> int | None:
    """The level a new request starts at (None: the owner may grant it alone), or a refusal."""
    if not discount.is_finite() or discount <= 0 or discount > 100:
        raise RuleViolation(
            "discount-range", f"a discount is a percentage above 0 and at most 100, got {discount}"
        )
    if policy.owner_may_grant(discount, amount):
        return None
    level = policy.first_level(discount, amount)
    if level is None:
        top = policy.levels[-1].max_discount if policy.levels else policy.owner_limit
        raise RuleViolation(
            "discount-above-policy",
            f"a {discount}% discount on {amount} is beyond every approval level (top: {top}%);"
            " it cannot be granted",
        )
    return level


def check_vote(
    policy: ApprovalPolicy, request: DiscountRequest | None, owner: str, approver_name: str
) -> Approver:
    """The approver, if they may vote on the open request now; otherwise a refusal naming the rule."""
    if request is None or request.status is not RequestStatus.PENDING or request.level is None:
        raise RuleViolation("request-open", "there is no discount request waiting for a decision")
    approver = policy.approver(approver_name)
    if approver_name == owner:
        raise RuleViolation(
            "no-self-approval", f"{approver_name} owns this deal and cannot decide its discount"
        )
    if approver_name in request.voted:
        raise RuleViolation(
            "no-double-vote", f"{approver_name} has already decided request {request.request_id}"
        )
    level = policy.levels[request.level]
    # the level's own group, or anyone from a higher level (a director may step in early)
    allowed_roles = {lvl.role for lvl in policy.levels[request.level :]}
    if approver.role not in allowed_roles:
        raise RuleViolation(
            "approver-level",
            f"{approver_name} ({approver.role}) cannot decide at the {level.name} level "
            f"(needs {' or '.join(sorted(allowed_roles))})",
        )
    if request.discount > approver.limit:
        raise RuleViolation(
            "approver-limit", f"{approver_name} may approve up to {approver.limit}%, not {request.discount}%"
        )
    return approver


def vote_outcome(policy: ApprovalPolicy, request: DiscountRequest, owner: str) -> RequestStatus:
    """Where the votes cast at the current level leave the request."""
    assert request.level is not None
    if any(not ok for ok in request.votes.values()):
        return RequestStatus.REJECTED
    level = policy.levels[request.level]
    if level.mode is ApprovalMode.ANY:
        return RequestStatus.APPROVED if request.votes else RequestStatus.PENDING
    group = set(policy.group(request.level, owner))
    approvals = {name for name, ok in request.votes.items() if ok}
    # a higher-level approver's yes settles a 会签 level on its own
    higher = any(policy.approver(n).role != level.role for n in approvals)
    return RequestStatus.APPROVED if higher or group <= approvals else RequestStatus.PENDING
