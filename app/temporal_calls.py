"""What Temporal answers, as the application's errors: one place, so no raw `RPCError` (nor the
SDK's own timeout errors) ever reaches a user, and a retryable fault never looks like a refusal."""

from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from app.errors import BadInput, Unavailable, Unreachable

T = TypeVar("T")

# Temporal answering these means "not now", not "never": the caller should retry.
_SERVER_DOWN = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
}


def address_of(client: Client) -> str:
    return client.service_client.config.target_host


def unavailable(
    client: Client | str, err: RPCError | RPCTimeoutOrCancelledError, request_id: str | None
) -> Exception:
    """The application's error for a Temporal call (to `client`, or at an address) that failed
    for a reason other than NOT_FOUND."""
    address = client if isinstance(client, str) else address_of(client)
    if isinstance(err, RPCTimeoutOrCancelledError):
        return Unreachable("Temporal", address, "no answer in time", request_id=request_id)
    if err.status in _SERVER_DOWN:
        return Unreachable("Temporal", address, err.message, request_id=request_id)
    if err.status == RPCStatusCode.INVALID_ARGUMENT:
        return BadInput(f"Temporal refused the request as malformed: {err.message}")
    # RESOURCE_EXHAUSTED (e.g. too many updates in flight on one workflow), throttling, …
    return Unavailable(f"Temporal at {address} answered {err.status.name}: {err.message}", request_id)


async def completed_update(
    client: Client, workflow_id: str, update_id: str, result_type: type[T]
) -> T | None:
    """The result of update `update_id` if the workflow's (latest run's) history records it completed.

    An update retried after its workflow ended (a deal's last move ends the deal's workflow) is
    answered from the history instead of being refused as "no longer open".
    """
    handle = client.get_workflow_handle(workflow_id)
    async for event in handle.fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            continue
        attrs = event.workflow_execution_update_completed_event_attributes
        if attrs.meta.update_id == update_id and attrs.outcome.HasField("success"):
            [result] = await client.data_converter.decode(attrs.outcome.success.payloads, [result_type])
            return result  # type: ignore[no-any-return]
    return None
