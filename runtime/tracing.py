"""OpenTelemetry traces: one trace from an HTTP request through the Temporal update, the workflow
and its activities (the SDK's `TracingInterceptor`, on the client and so on every worker built
from it; its workflow side is replay-safe: no span is made again when a workflow replays).

Off unless configured: `configure_tracing()` (the services call it at start) exports by OTLP over
HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the
exporter's own variables (`OTEL_EXPORTER_OTLP_HEADERS`, …) and `OTEL_SERVICE_NAME`; unset, nothing
is traced and the interceptor is not installed. Tests pass a tracer provider of their own.
"""

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from temporalio import workflow
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._context import attached_context
from temporalio.contrib.opentelemetry._interceptor import _CompletedWorkflowSpanParams
from temporalio.worker import HandleUpdateInput, WorkflowInterceptorClassInput

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
INSTRUMENTATION = "dealflow"

_provider: list[trace.TracerProvider] = []  # the configured one, if any


def configure_tracing(
    service: str, *, provider: trace.TracerProvider | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Trace from now on, through `provider`, or by OTLP when the environment names an endpoint.
    Returns whether tracing is on. Called again, the last call wins (tests)."""
    env = os.environ if environ is None else environ
    if provider is None:
        if not any(env.get(name) for name in _ENDPOINTS):
            return bool(_provider)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        name = env.get("OTEL_SERVICE_NAME") or f"dealflow-{service}"
        sdk = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        sdk.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        provider = sdk
    _provider[:] = [provider]
    return True


def stop_tracing() -> None:
    """Flush and forget the configured provider (the end of a service, or of a test)."""
    if _provider:
        found = _provider.pop()
        if isinstance(found, TracerProvider):
            found.force_flush()
            found.shutdown()


def tracer() -> trace.Tracer | None:
    """The tracer to make spans with, or None when tracing is off."""
    return _provider[0].get_tracer(INSTRUMENTATION) if _provider else None


def tracing_interceptors() -> list[TracingInterceptor]:
    """The client interceptors that carry the trace through Temporal (none when tracing is off)."""
    found = tracer()
    return [MovesInTheirTrace(found)] if found is not None else []


class MovesInTheirTrace(TracingInterceptor):
    """The SDK's interceptor, with an update handled in its caller's trace (below)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span-making extern function
        return _UpdateInItsTrace


class _UpdateInItsTrace(TracingWorkflowInboundInterceptor):
    """The SDK parents `HandleUpdate` on the workflow's start (the deal's opening, maybe months
    ago) and only links the caller; a deal's moves are updates, so each move's request, its
    update, its handler and the activities the handler runs (the append) are made one trace here:
    `HandleUpdate` is the child of the caller's `StartWorkflowUpdate`, and the handler runs in its
    context. Still replay-safe: no span is made while replaying (the SDK's rule), and a span is
    only a record, never an input to the workflow's decisions."""

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        header = input.headers.get(self.header_key)
        carrier = self.payload_converter.from_payloads([header])[0] if header else None
        if not carrier:
            return await super().handle_update_handler(input)
        handling = self._set_on_context(self.text_map_propagator.extract(carrier))
        if not workflow.unsafe.is_replaying():
            info = workflow.info()
            made = self._extern_functions["__temporal_opentelemetry_completed_span"](
                _CompletedWorkflowSpanParams(
                    context=carrier,
                    name=f"HandleUpdate:{input.update}",
                    attributes={"temporalWorkflowID": info.workflow_id, "temporalRunID": info.run_id},
                    time_ns=workflow.time_ns(),
                    link_context=None,
                    exception=None,
                    kind=SpanKind.SERVER,
                    parent_missing=False,
                )
            )
            if made:
                handling = self._set_on_context(self.text_map_propagator.extract(made))
        with attached_context(handling):
            return await self.next.handle_update_handler(input)
