"""The clause-check activity on Temporal's activity test environment: a verdict for every contract
the domain can describe, and a contract it cannot judge is a non-retryable error (retrying the same
input forever is what left contracts "checking" for good), never a retried one."""

from decimal import Decimal
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contract_activities import BAD_CONTRACT_INPUT, check_contract
from domain.contracts import ClauseCheck, Contract, ContractPolicy
from workflows.messages import ContractCheckRequest


def request(quote: str = "100000", **contract: Any) -> ContractCheckRequest:
    fields: dict[str, Any] = {"contract_id": "C-1", "total": Decimal("100000"), "payment_terms_days": 30}
    fields |= {"liability_cap": Decimal(1)} | contract
    return ContractCheckRequest(
        contract=Contract.model_construct(**fields),  # as an old event decodes: unbounded
        policy=ContractPolicy(),
        quote=Decimal(quote),
        approved_discount=Decimal(0),
    )


async def test_a_good_contract_passes_and_a_bad_one_fails_by_name() -> None:
    env = ActivityEnvironment()
    assert await env.run(check_contract, request()) == []
    failures = await env.run(check_contract, request(payment_terms_days=90))
    assert [f.check for f in failures] == [ClauseCheck.PAYMENT_TERMS]


@pytest.mark.parametrize(
    ("quote", "contract"),
    [("100", {"total": Decimal("1e30")}), ("1e30", {}), ("1e400", {"discount": Decimal("-1e400")})],
)
async def test_figures_out_of_range_are_a_verdict(quote: str, contract: dict[str, Any]) -> None:
    failures = await ActivityEnvironment().run(check_contract, request(quote, **contract))
    assert [f.check for f in failures] == [ClauseCheck.FIGURES_IN_RANGE]


async def test_input_it_cannot_judge_is_not_retried() -> None:
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(check_contract, request(payment_terms_days="thirty"))
    assert err.value.non_retryable
    assert err.value.type == BAD_CONTRACT_INPUT
    assert "C-1" in err.value.message
