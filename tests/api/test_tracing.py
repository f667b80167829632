"""One trace from an HTTP request through the Temporal update, the workflow and the append
activity (the SDK's TracingInterceptor on the API's client and the worker's, the API's server
span around each request), caught by an in-memory exporter."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from runtime.settings import Settings
from runtime.temporal_client import connect, create_worker
from runtime.tracing import configure_tracing, stop_tracing
from store.event_store import EventStore


@pytest.fixture
async def spans() -> AsyncIterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    configure_tracing("test", provider=provider)
    yield exporter
    stop_tracing()


def path_to_root(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = [span.name]
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names[::-1]


async def test_a_move_is_one_trace_from_the_request_to_the_append(
    spans: InMemorySpanExporter,
    api_settings: Settings,
    api_temporal: WorkflowEnvironment,
    api_store: EventStore,
) -> None:
    queue = f"traced-{uuid.uuid4().hex[:8]}"
    settings = api_settings.model_copy(update={"task_queue": queue})
    address = api_temporal.client.service_client.config.target_host
    worker_client = await connect(address, api_temporal.client.namespace)  # traced: made after configuring
    app = create_app(settings)
    async with create_worker(worker_client, api_store, queue), app.router.lifespan_context(app):
        token = (await app.state.dealflow.identity()).mint_token("an.li")
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dealflow.test") as client:
            oid = f"trace-{uuid.uuid4().hex[:8]}"
            body = {"opportunity_id": oid, "company": "Acme", "contact_person": "Li", "source": "web"}
            assert (await client.post("/v1/opportunities", json=body, headers=headers)).status_code == 201
            opening = spans.get_finished_spans()
            spans.clear()
            moved = await client.post(
                f"/v1/opportunities/{oid}/advance",
                json={"to_stage": "contact", "facts": {"first_touch": "call"}},
                headers=headers,
            )
            assert moved.status_code == 200, moved.text
    # the open: the workflow's start and its run, in the request's trace
    opened = {s.context.span_id: s for s in opening}
    [run] = [s for s in opening if s.name == "RunWorkflow:OpportunityWorkflow"]
    assert path_to_root(run, opened) == [
        "POST /v1/opportunities",
        "StartWorkflow:OpportunityWorkflow",
        "RunWorkflow:OpportunityWorkflow",
    ]
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    [request] = [s for s in finished if s.name == "POST /v1/opportunities/{opportunity_id}/advance"]
    assert request.parent is None  # the root: no caller's traceparent was sent
    assert request.attributes is not None
    assert request.attributes["http.response.status_code"] == 200
    in_trace = [s for s in finished if s.context.trace_id == request.context.trace_id]
    appends = [s for s in in_trace if s.name == "RunActivity:append_events"]
    assert appends, sorted(s.name for s in finished)
    assert path_to_root(appends[0], by_id) == [
        "POST /v1/opportunities/{opportunity_id}/advance",
        "StartWorkflowUpdate:advance",
        "HandleUpdate:advance",
        "StartActivity:append_events",
        "RunActivity:append_events",
    ]
