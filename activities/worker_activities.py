"""Every activity the dealflow workflows call, bound to their dependencies: the one list a worker
registers (`runtime.temporal_client.create_worker`), so a new activity cannot be forgotten there."""

from collections.abc import Callable
from typing import Any

from temporalio.client import Client

from activities.brief_activities import BriefActivities
from activities.contract_activities import check_contract
from activities.event_store_activities import EventStoreActivities
from activities.notifications import NotificationActivities, OutboxNotifier
from activities.pipeline_activities import PipelineActivities
from activities.workflow_starts import WorkflowStartActivities
from domain.pipeline import PipelineCatalog
from store.event_store import EventStore


def engine_activities(
    client: Client, store: EventStore, catalog: PipelineCatalog
) -> list[Callable[..., Any]]:
    """The activities, with `catalog` as the worker's pipelines (the rules every new deal pins)."""
    events = EventStoreActivities(store)
    notifications = NotificationActivities(OutboxNotifier(store))
    starts = WorkflowStartActivities(client)
    briefs = BriefActivities(store)
    pipelines = PipelineActivities(store, catalog)
    return [
        events.append_events,
        check_contract,
        notifications.notify,
        starts.start_after_sales,
        starts.start_renewal,
        briefs.compile_sales_brief,
        pipelines.resolve_pipeline,
    ]
