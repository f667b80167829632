"""Contract review (合同条款审核): automatic clause checks, then a legal sign-off.

The clause checks are pure; the workflow runs them in an activity so that a real contract service
can replace them later without touching the workflow.
"""

from decimal import Context, Decimal, localcontext
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.inputs import HARD_MAX_AMOUNT, PAYMENT_DAYS_MAX, refuse_surrogates, shown

CENT = Decimal("0.01")


class ContractPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_payment_days: int = Field(default=60, gt=0)
    require_liability_cap: bool = True
    legal_role: str = "legal"
    legal_lead_role: str = "legal_lead"
    legal_timeout_hours: float = Field(default=72, gt=0)  # then the legal lead is asked
    legal_escalation_hours: float = Field(default=48, gt=0)  # then the review expires


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contract_id: str
    total: Decimal
    discount: Decimal = Decimal(0)  # percent, as written in the contract
    payment_terms_days: int
    liability_cap: Decimal | None = None

    @model_validator(mode="after")
    def _encodable(self) -> "Contract":
        refuse_surrogates(self)
        return self


class ClauseCheck(StrEnum):
    PAYMENT_TERMS = "payment-terms"
    LIABILITY_CAP = "liability-cap"
    DISCOUNT_MATCHES_APPROVAL = "discount-matches-approval"
    TOTAL_MATCHES_QUOTE = "total-matches-quote"
    # A figure no contract can have (stored before the domain bounded its input): nothing else is
    # checked, and the contract is sent back to be redrafted instead of failing the check forever.
    FIGURES_IN_RANGE = "figures-in-range"
    # The check could not run at all (a contract service that refuses it for good): see `not_checked`.
    CHECKS_RAN = "checks-ran"


class ClauseFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: ClauseCheck
    detail: str


def expected_total(quote: Decimal, discount: Decimal) -> Decimal:
    return (quote * (100 - discount) / 100).quantize(CENT)


def check_clauses(
    contract: Contract, policy: ContractPolicy, quote: Decimal, approved_discount: Decimal
) -> list[ClauseFailure]:
    """Every clause that fails, named; an empty list means the contract passed. Never raises: a
    check that raised would be retried forever and leave the contract checking for good."""
    wrong = _out_of_range(contract, quote, approved_discount)
    if wrong:
        detail = "out of range: " + ", ".join(wrong)
        return [ClauseFailure(check=ClauseCheck.FIGURES_IN_RANGE, detail=detail)]
    try:
        # The figures are bounded, so the default 28 digits hold every product exactly enough;
        # pinned here so that a caller's decimal context cannot change the verdict.
        with localcontext(Context()):
            return _clause_failures(contract, policy, quote, approved_discount)
    except ArithmeticError as err:  # not expected within the bounds; still a verdict, not a crash
        return not_checked(f"{type(err).__name__} in the arithmetic")


def not_checked(reason: str) -> list[ClauseFailure]:
    """The verdict for a contract whose checks could not run: failed, so it is redrafted."""
    return [ClauseFailure(check=ClauseCheck.CHECKS_RAN, detail=f"the clause checks could not run: {reason}")]


def _out_of_range(contract: Contract, quote: Decimal, approved_discount: Decimal) -> list[str]:
    money = {"total": contract.total, "liability cap": contract.liability_cap, "quote": quote}
    percents = {"discount": contract.discount, "approved discount": approved_discount}
    wrong = [
        f"{name} {shown(value)}"
        for name, value in money.items()
        if value is not None and not (value.is_finite() and 0 <= value <= HARD_MAX_AMOUNT)
    ]
    wrong += [
        f"{name} {shown(value)}%"
        for name, value in percents.items()
        if not (value.is_finite() and 0 <= value <= 100)
    ]
    if not 0 <= contract.payment_terms_days <= PAYMENT_DAYS_MAX:
        wrong.append(f"payment in {shown(contract.payment_terms_days)} days")
    return wrong


def _clause_failures(
    contract: Contract, policy: ContractPolicy, quote: Decimal, approved_discount: Decimal
) -> list[ClauseFailure]:
    failures = []
    if contract.payment_terms_days > policy.max_payment_days:
        failures.append(
            ClauseFailure(
                check=ClauseCheck.PAYMENT_TERMS,
                detail=f"payment in {contract.payment_terms_days} days"
                f" exceeds the policy's {policy.max_payment_days}",
            )
        )
    if policy.require_liability_cap and (contract.liability_cap is None or contract.liability_cap <= 0):
        failures.append(ClauseFailure(check=ClauseCheck.LIABILITY_CAP, detail="no liability cap"))
    if contract.discount != approved_discount:
        failures.append(
            ClauseFailure(
                check=ClauseCheck.DISCOUNT_MATCHES_APPROVAL,
                detail=f"contract gives {contract.discount}%, approved discount is {approved_discount}%",
            )
        )
    due = expected_total(quote, approved_discount)
    if contract.total.quantize(CENT) != due:
        failures.append(
            ClauseFailure(
                check=ClauseCheck.TOTAL_MATCHES_QUOTE,
                detail=f"total {contract.total} differs from quote {quote} less {approved_discount}% = {due}",
            )
        )
    return failures


class ReviewStatus(StrEnum):
    CHECKING = "checking"
    CHECKS_FAILED = "checks_failed"
    AWAITING_LEGAL = "awaiting_legal"
    SIGNED_OFF = "signed_off"
    REJECTED = "rejected"
    EXPIRED = "expired"
