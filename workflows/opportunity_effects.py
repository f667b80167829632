"""What an opportunity's workflow does beyond its own stream: ask the worker for the rules, run a
contract's clause checks, nag people about idle deals, hand a won customer to after-sales, publish
search attributes. Kept apart from `workflows.opportunity` so that one reads as the deal's commands
and its run loop."""

import math

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.after_sales import DealWon
    from domain.contracts import ClauseFailure, not_checked
    from domain.errors import RuleViolation
    from domain.events import StallEscalated, StallReminded
    from domain.opportunity import OpportunityState
    from domain.pipeline import Pipeline
    from domain.stages import Stage
    from workflows import search_attributes as sa
    from workflows.event_sourcing import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, notify
    from workflows.messages import (
        CHECK_CONTRACT,
        RESOLVE_PIPELINE,
        START_AFTER_SALES,
        ContractCheckRequest,
        DiscountDecisionSignal,
        Notification,
        PipelineLookup,
        StartAfterSales,
    )


async def resolve_pipeline(pipeline_id: str) -> tuple[Pipeline, str | None]:
    """The worker's rules for this pipeline id and their version hash (the activity's answer is in
        history, so a replay decides the same); RuleViolation when the worker has no such pipeline (or
    cannot store the version it has)."""
    try:
        lookup: PipelineLookup = await workflow.execute_activity(
            RESOLVE_PIPELINE,
            pipeline_id,
            result_type=PipelineLookup,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
    except ActivityError as err:  # retries are unlimited: only a refusal for good ends here
        raise RuleViolation("pipeline-unusable", f"pipeline {pipeline_id!r}: {err.cause or err}") from None
    if lookup.pipeline is None:  # the caller's catalog is not the worker's
        known = ", ".join(lookup.known) or "none"
        raise RuleViolation(
            "unknown-pipeline",
            f"the worker has no pipeline {pipeline_id!r} (known: {known}): nothing was recorded",
        )
    return lookup.pipeline, lookup.version


async def check_contract(state: OpportunityState, pipeline: Pipeline) -> list[ClauseFailure]:
    """The clause checks' verdict on the contract under review (as recorded: cleaned by the domain)."""
    assert pipeline.contract is not None  # decide_contract_submit refuses otherwise
    review = state.contract
    assert review is not None  # just recorded
    try:
        failures: list[ClauseFailure] = await workflow.execute_activity(
            CHECK_CONTRACT,
            ContractCheckRequest(
                contract=review.contract,
                policy=pipeline.contract,
                quote=state.amount,
                approved_discount=state.approved_discount,
            ),
            result_type=list[ClauseFailure],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
    except ActivityError as err:  # retries are unlimited: only input the checks cannot judge ends here
        # A failed verdict, so the contract is redrafted; never a contract left "checking" for good.
        failures = not_checked(err.cause.message if isinstance(err.cause, ApplicationError) else str(err))
    return failures


def decoded_decision(payload: tuple[object, ...]) -> DiscountDecisionSignal | None:
    """A discount decision signal's payload (its first argument) as a decision, or None (logged)."""
    try:
        return DiscountDecisionSignal.model_validate(payload[0] if payload else None)
    except Exception as err:  # any shape a sender may send: never the workflow task's failure
        workflow.logger.warning("discount decision signal dropped: not a decision: %s", err)
        return None


async def notify_stall(state: OpportunityState, event: StallReminded | StallEscalated) -> None:
    idle = f"idle for {event.idle_days:g} days in {event.stage}"
    message = (
        f"{state.opportunity_id} ({state.company}) is {idle}: please follow up"
        if isinstance(event, StallReminded)
        else f"{state.opportunity_id} ({state.company}) of {event.owner} is {idle}"
    )
    await notify(
        Notification(
            key=event.event_id,
            recipient=event.recipient,
            kind=event.type,
            stream_id=event.stream_id,
            message=message,
        )
    )


def is_won(state: OpportunityState) -> bool:
    return state.stage in (Stage.DEAL, Stage.AFTER_SALES)


async def start_after_sales(state: OpportunityState, pipeline: Pipeline) -> None:
    """A won deal hands the customer to after-sales: a workflow of its own that outlives this one.

    If its id is held by a workflow that is not this deal's relationship, the deal's workflow fails
    with that reason: the customer must not be silently left without revisits."""
    won_at = next(v.entered_at for v in state.timeline if v.stage is Stage.DEAL)
    deal = DealWon(
        deal_id=state.opportunity_id,
        pipeline=state.pipeline,
        owner=state.owner,
        customer=state.company,
        contact_person=state.contact_person,
        amount=state.amount,
        won_at=won_at,
    )
    try:
        await workflow.execute_activity(
            START_AFTER_SALES,
            StartAfterSales(deal=deal, pipeline=pipeline),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
    except ActivityError as err:  # retries are unlimited: only a refusal for good ends here
        cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
        workflow.logger.error("after-sales not started: %s", cause)
        raise ApplicationError(
            f"{state.opportunity_id} is won but its after-sales relationship could not start: {cause}",
            type="AfterSalesNotStarted",
            non_retryable=True,
        ) from None


def publish(state: OpportunityState) -> None:
    """Keep the deal's search attributes current (Temporal visibility: `dealflow list`)."""
    amount = float(state.amount)
    workflow.upsert_search_attributes(
        [
            sa.STAGE.value_set(state.status),
            sa.OWNER.value_set(state.owner),
            sa.PIPELINE.value_set(state.pipeline),
            # The domain bounds amounts now; a deal recorded before with one past a Double (1e400)
            # must still move, so an amount that is no finite Double is left out, not sent.
            *([sa.AMOUNT.value_set(amount)] if math.isfinite(amount) else []),
        ]
    )
