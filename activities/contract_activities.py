"""Contract clause checks, run as an activity so a real contract service can take their place."""

from temporalio import activity

from domain.contracts import ClauseFailure, check_clauses
from workflows.messages import CHECK_CONTRACT, ContractCheckRequest


@activity.defn(name=CHECK_CONTRACT)
async def check_contract(request: ContractCheckRequest) -> list[ClauseFailure]:
    return check_clauses(request.contract, request.policy, request.quote, request.approved_discount)
