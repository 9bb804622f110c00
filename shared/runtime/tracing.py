"""OpenTelemetry tracing: one trace follows an appeal's causal chain across the services.

An HTTP request's span (FastAPI's own OpenTelemetry support) is current while a command appends its
events; each event row keeps that span's W3C `traceparent`. The relay publishes each event in
a PRODUCER span that is a child of it and carries its own context in the Kafka record's
`traceparent` header; the consume loop applies each record in a CONSUMER span that is a child
of that, and the events a handler appends keep the consumer span as their parent. So one
appeal's path (POST, intake's transaction, the relay, Kafka, dispatch, feedback, audit) is
one trace; httpx's instrumentation adds outbound calls, SQLAlchemy's (when exported) statements.

Where spans go, and what a span is while they go nowhere (its ids alone), is
`shared.runtime.trace_provider`'s.
"""

import contextlib
import functools
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.runtime import trace_provider

HEADER = "traceparent"
QUIET_PATHS = frozenset({"/livez", "/healthz", "/readyz", "/metrics"})  # probes, scrapes: no spans

_W3C = TraceContextTextMapPropagator()


def _quiet(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in QUIET_PATHS


def app_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry support (`FastAPI(telemetry=...)`): one SERVER span per
    request, named by its route once the router picked it, continuing an incoming
    `traceparent`. Nothing more per request: no span per dependency, endpoint and
    serialization (`operation_spans`), no HTTP metrics (Prometheus has ours) and no log
    records (our JSON logs have the request). It replaced the contrib FastAPIInstrumentor,
    whose middleware matched every request's route a second time to name its span."""
    return {
        "tracer_provider": trace_provider.current(),
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,  # exporters come from trace_provider.configure() alone
        "exclude": _quiet,
    }


def http_client(**options: Any) -> httpx.AsyncClient:
    """An httpx client whose requests are CLIENT spans carrying `traceparent` (httpx's
    instrumentation, per client: patching httpx for the whole process would also rewrite
    the headers of clients that are not the service's own, such as a test's)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    client = httpx.AsyncClient(**options)
    HTTPXClientInstrumentor.instrument_client(
        client, tracer_provider=trace_provider.current(), request_hook=_url_without_query
    )
    return client


async def _url_without_query(span: Any, request: Any) -> None:
    """A receiver's URL may carry its own token in the query (a leadership channel's often
    does): the span keeps the URL without it."""
    if span is not None and span.is_recording():
        url = str(request.url.copy_with(query=None))
        for key in ("http.url", "url.full"):
            span.set_attribute(key, url)


@functools.cache
def tracer() -> trace.Tracer:
    # Once: the global proxy hands spans to whichever provider is set, now or later.
    return trace.get_tracer("hotline")


_POSTGRESQL = {"db.system.name": "postgresql"}


@contextlib.contextmanager
def transaction_span() -> Iterator[None]:
    """A CLIENT span for one PostgreSQL transaction, child of the current span (a request's,
    a record's); none outside any span (a timer's idle pass makes no trace of its own). Not
    made current: the statements and the facts appended in it stay children of the request
    or record they serve. Made only when spans are exported: its id goes nowhere else."""
    if not trace_provider.exporting() or not trace.get_current_span().get_span_context().is_valid:
        yield
        return
    span = tracer().start_span("transaction", kind=SpanKind.CLIENT, attributes=_POSTGRESQL)
    try:
        yield
    except BaseException as exc:
        end(span, exc)
        raise
    span.end()


def traceparent() -> str | None:
    """The current span's context in W3C form (what an event row keeps), or None."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(HEADER)


def context_from(parent: str | bytes | None) -> otel_context.Context:
    """The context a `traceparent` names; an empty one (a new trace) when absent or invalid."""
    if isinstance(parent, bytes):
        parent = parent.decode("latin-1")
    return _W3C.extract({HEADER: parent} if parent else {})


def trace_id() -> str | None:
    """The current trace id in hex (what log lines carry), or None outside any span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def kafka_headers(span: Span) -> list[tuple[str, bytes]]:
    """The record headers that make a consumer's span a child of `span`."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=trace.set_span_in_context(span))
    return [(key, value.encode("latin-1")) for key, value in carrier.items()]


def publish_span(topic: str, parent: str | None, *, appeal_id: Any) -> Span:
    """A PRODUCER span for one record, child of the trace the event was recorded in; the
    caller ends it once the broker acknowledged (or refused) the record."""
    return tracer().start_span(
        f"{topic} publish",
        context=context_from(parent),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "hotline.appeal_id": str(appeal_id),
        },
    )


@contextlib.contextmanager
def consume_span(record: Any, service: str) -> Iterator[Span]:
    """The CONSUMER span, current while one Kafka record is applied: events a handler
    appends keep it as their parent, so the trace goes on in the next service."""
    parent = dict(record.headers or ()).get(HEADER)
    with tracer().start_as_current_span(
        f"{record.topic} process",
        context=context_from(parent),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": service,
        },
    ) as span:
        yield span


@contextlib.contextmanager
def root_span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span of its own trace (a timer's sweep): no request or record caused it."""
    with tracer().start_as_current_span(
        name, context=otel_context.Context(), attributes=_clean(attributes)
    ) as span:
        yield span


def describe(event: Any) -> None:
    """Name the fact a span is about: its type, appeal and correlation."""
    trace.get_current_span().set_attributes(
        {
            "hotline.event_type": event.type,
            "hotline.appeal_id": str(event.subject),
            "hotline.correlation_id": str(event.correlation_id),
        }
    )


def end(span: Span, error: BaseException | None = None) -> None:
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool) else str(v)
        for k, v in attributes.items()
        if v is not None
    }
