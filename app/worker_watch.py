"""Telling "the worker is slow" from "nothing will ever answer", in seconds rather than at a timeout.

An update or query is answered by a worker; with none polling, Temporal holds the call (a query
for 30 s, an update for ever). So a call that has not answered within a few seconds asks Temporal
two questions, and fails with an `Unavailable` error when either says nobody is coming:

- does any worker poll the task queue? A live worker starts a long poll at least once a minute,
  and the server records when each poller last did; none seen for `_POLLER_FRESH` means none runs.
- is this workflow's work being taken? A workflow task scheduled and not started for
  `unpicked_after` (a poller was listed but is gone: killed, partitioned), or failing attempt
  after attempt, will not answer this call either.
"""

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.api.enums.v1 import PendingWorkflowTaskState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.errors import NotAnswered, NoWorker, Unreachable

T = TypeVar("T")

# A live worker's pollers re-poll at least every ~60 s (the server's long-poll expiry).
_POLLER_FRESH = timedelta(seconds=75)
_FAILING_ATTEMPTS = 3  # a workflow task that failed twice is failing, not unlucky


@dataclass(frozen=True)
class WorkerWatch:
    client: Client
    task_queue: str
    patience: float = 2.0  # seconds a call may take before we ask
    interval: float = 2.0  # then ask again this often while it is pending
    unpicked_after: timedelta = timedelta(seconds=10)  # a workflow task waiting this long: nobody takes it

    @property
    def address(self) -> str:
        return self.client.service_client.config.target_host

    async def call(self, call: Awaitable[T], workflow_id: str, request_id: str | None = None) -> T:
        """Await `call`, failing with `NoWorker` / `NotAnswered` once nobody is going to answer it."""
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait({task}, timeout=self.patience)
            while not done:
                await self.diagnose(workflow_id, request_id)
                done, _ = await asyncio.wait({task}, timeout=self.interval)
            return task.result()
        except RPCError as err:
            if err.status != RPCStatusCode.DEADLINE_EXCEEDED:
                raise
            # Temporal gave up waiting for a worker to answer (a query's 30 s): a worker was
            # listed, so the diagnosis above could not tell, but nobody answered.
            raise NotAnswered(
                f"{workflow_id}: no worker answered in time (task queue {self.task_queue} on Temporal at"
                f" {self.address}): is the worker running?",
                request_id,
            ) from None
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def diagnose(self, workflow_id: str | None, request_id: str | None = None) -> None:
        """Raise when no worker polls the task queue, or this workflow's task is not being done."""
        try:
            if not await self.worker_polls():
                raise NoWorker(self.task_queue, self.address, request_id)
            if workflow_id is not None:
                await self._workflow_task_taken(workflow_id, request_id)
        except RPCError as err:
            if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNIMPLEMENTED):
                return  # not for us to say (the call will answer; a test server cannot describe queues)
            raise Unreachable("Temporal", self.address, err.message, request_id=request_id) from None

    async def worker_polls(self) -> bool:
        """Whether a worker has polled the workflow task queue recently."""
        described = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            retry=True,
            timeout=timedelta(seconds=5),
        )
        now = datetime.now(UTC)
        return any(now - p.last_access_time.ToDatetime(UTC) < _POLLER_FRESH for p in described.pollers)

    async def _workflow_task_taken(self, workflow_id: str, request_id: str | None) -> None:
        raw = (
            await self.client.get_workflow_handle(workflow_id).describe(rpc_timeout=timedelta(seconds=5))
        ).raw_description
        if not raw.HasField("pending_workflow_task"):
            return
        task = raw.pending_workflow_task
        if task.attempt >= _FAILING_ATTEMPTS:
            raise NotAnswered(
                f"{workflow_id}: its workflow task keeps failing (attempt {task.attempt}); nothing more is"
                " applied to it until the worker is fixed (`dealflow reconcile` lists such workflows)",
                request_id,
            )
        waiting = datetime.now(UTC) - task.scheduled_time.ToDatetime(UTC)
        if task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED and (
            waiting > self.unpicked_after
        ):
            raise NotAnswered(
                f"{workflow_id}: no worker has taken its work for {waiting.total_seconds():.0f} s"
                f" (task queue {self.task_queue} on Temporal at {self.address}): is the worker running?",
                request_id,
            )
