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

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

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
    return [TracingInterceptor(found)] if found is not None else []
