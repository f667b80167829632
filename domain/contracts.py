"""Contract review (合同条款审核): automatic clause checks, then a legal sign-off.

The clause checks are pure; the workflow runs them in an activity so that a real contract service
can replace them later without touching the workflow.
"""

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

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


class ClauseCheck(StrEnum):
    PAYMENT_TERMS = "payment-terms"
    LIABILITY_CAP = "liability-cap"
    DISCOUNT_MATCHES_APPROVAL = "discount-matches-approval"
    TOTAL_MATCHES_QUOTE = "total-matches-quote"


class ClauseFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: ClauseCheck
    detail: str


def expected_total(quote: Decimal, discount: Decimal) -> Decimal:
    return (quote * (100 - discount) / 100).quantize(CENT)


def check_clauses(
    contract: Contract, policy: ContractPolicy, quote: Decimal, approved_discount: Decimal
) -> list[ClauseFailure]:
    """Every clause that fails, named; an empty list means the contract passed."""
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
