"""Contract clause checks, run as an activity so a real contract service can take their place.

Two kinds of failure must not be confused here. Bad input (a contract the check cannot judge)
never improves with retries: it is a non-retryable ApplicationError, so the workflow hears of it
at once instead of retrying forever with the contract stuck in "checking". Infrastructure trouble
(a contract service that is down, a timeout) is raised as it is, and Temporal retries it. Today's
check is pure and answers every contract with a verdict (`check_clauses` never raises), so the
first branch is a guard for the services to come.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.contracts import ClauseFailure, check_clauses
from workflows.messages import CHECK_CONTRACT, ContractCheckRequest

BAD_CONTRACT_INPUT = "BadContractInput"


@activity.defn(name=CHECK_CONTRACT)
async def check_contract(request: ContractCheckRequest) -> list[ClauseFailure]:
    try:
        return check_clauses(request.contract, request.policy, request.quote, request.approved_discount)
    except (ArithmeticError, ValueError, TypeError) as err:  # the input, not the infrastructure
        raise ApplicationError(
            f"contract {request.contract.contract_id[:64]!r} cannot be checked: {type(err).__name__}: {err}",
            type=BAD_CONTRACT_INPUT,
            non_retryable=True,
        ) from err
