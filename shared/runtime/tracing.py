"""W3C trace context carried from an HTTP request, through the events it causes, across
Kafka headers into the next service: one trace id follows an appeal's causal chain."""

import re
import secrets
from contextvars import ContextVar

HEADER = "traceparent"
_FORMAT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

current: ContextVar[str | None] = ContextVar("traceparent", default=None)


def continue_from(parent: str | None) -> str:
    """A new span in the parent's trace, or a new trace when the parent is absent or invalid."""
    match = _FORMAT.match(parent or "")
    trace_id = match.group(1) if match else secrets.token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def trace_id(traceparent: str | None) -> str | None:
    match = _FORMAT.match(traceparent or "")
    return match.group(1) if match else None
