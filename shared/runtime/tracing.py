"""OpenTelemetry tracing: one trace follows an appeal's causal chain across the services.

An HTTP request's span (FastAPI's own OpenTelemetry support) is current while a command appends its
events; each event row keeps that span's W3C `traceparent`. The relay publishes each event in
a PRODUCER span that is a child of it and carries its own context in the Kafka record's
`traceparent` header; the consume loop applies each record in a CONSUMER span that is a child
of that, and the events a handler appends keep the consumer span as their parent. So one
appeal's path (POST, intake's transaction, the relay, Kafka, dispatch, feedback, audit) is
one trace; httpx's instrumentation adds outbound calls, SQLAlchemy's (when exported) statements.

Every span has its ids (they go into logs, event rows and Kafka headers), but a span is
recorded (its name, attributes, times and status) only while spans are exported, and a
statement's or a transaction's span is made only then (its id goes nowhere else, and making
statement spans cost about 5% of a service's CPU under load). Spans are exported when asked:
- the standard `OTEL_*` variables: `OTEL_TRACES_EXPORTER` (e.g. `otlp`, `console`) or, with
  that unset, `OTEL_EXPORTER_OTLP_ENDPOINT`/`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (protocol by
  `OTEL_EXPORTER_OTLP_PROTOCOL`, default http/protobuf). Unlike the SDK's own default, an
  unset `OTEL_TRACES_EXPORTER` exports nothing: no collector is assumed.
- `HOTLINE_TRACE_FILE` (development and tests only; settings refuse it in production):
  every finished span as one JSON line in that file, written synchronously.
"""

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Iterator, MutableMapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

HEADER = "traceparent"
QUIET_PATHS = frozenset({"/livez", "/healthz", "/readyz", "/metrics"})  # probes, scrapes: no spans
log = logging.getLogger("hotline.tracing")

_W3C = TraceContextTextMapPropagator()
_lock = threading.Lock()
_provider: TracerProvider | None = None
_exporting = False  # spans leave the process (export): made even where only they see them


class JsonLinesExporter(SpanExporter):
    """Each finished span as one JSON object per line (HOTLINE_TRACE_FILE)."""

    def __init__(self, path: Path) -> None:
        # Unbuffered, one append per export: web processes share the file (no torn lines).
        self._file = path.open("ab", buffering=0)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock:
            self._file.write(lines.encode())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()


class _Tracer(trace.Tracer):
    """The SDK's tracer while spans are exported; until then a span is its ids alone: the
    trace continued (or a new one), an id of its own and the sampling flag the provider's
    sampler gives, as the SDK's span would have. Recording spans no one reads cost the four
    services about 6% of their CPU per lifecycle (docs/benchmarks.md)."""

    def __init__(self, recording: trace.Tracer, sampler: Sampler, ids: IdGenerator) -> None:
        self._recording = recording
        self._sampler = sampler
        self._ids = ids

    def start_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        *recorded: Any,
        **recorded_by_name: Any,
    ) -> Span:
        """A span; `recorded`: what only a recorded span keeps (attributes, links, times)."""
        if _exporting:
            return self._recording.start_span(name, context, kind, *recorded, **recorded_by_name)
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else self._ids.generate_trace_id()
        # Without attributes and links: the samplers OTEL_TRACES_SAMPLER names decide by the
        # parent and the trace id alone.
        sampling = self._sampler.should_sample(context, trace_id, name, kind)
        sampled = sampling.decision is Decision.RECORD_AND_SAMPLE
        flags = TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT
        return NonRecordingSpan(
            SpanContext(
                trace_id,
                self._ids.generate_span_id(),
                is_remote=False,
                trace_flags=TraceFlags(flags),
                trace_state=sampling.trace_state,
            )
        )

    # As the SDK's: the span is current inside and ends on leaving. (The API types this
    # method with a private decorator of its own, hence the ignore.)
    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Any = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class _Provider(TracerProvider):
    """The SDK's provider, whose tracers record spans only while they are exported."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _Tracer(super().get_tracer(*args, **kwargs), self.sampler, self.id_generator)


def _env_exporters() -> list[SpanExporter]:
    """The exporters the standard OTEL_* variables ask for; none when they ask for none."""
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names and (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    ):
        names = ["otlp"]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "none":
            continue
        if name == "otlp":  # the protocol the spec names, as the SDK's configurator reads it
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            )
            name = "otlp_proto_grpc" if protocol == "grpc" else "otlp_proto_http"
        found = entry_points(group="opentelemetry_traces_exporter", name=name)
        if not found:
            raise ValueError(f"OTEL_TRACES_EXPORTER names {name!r}, which is not installed")
        exporters.append(next(iter(found)).load()())
    return exporters


def configure(service: str, *, trace_file: Path | None = None) -> TracerProvider:
    """Install the process's tracer provider and the library instrumentations, once.

    Later calls (tests build several apps in one process) add only a trace file not yet
    added; the provider, its resource and its exporters stay those of the first call."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = _Provider(resource=Resource.create({"service.name": service}))
            trace.set_tracer_provider(_provider)
            for exporter in _env_exporters():
                export(_provider, BatchSpanProcessor(exporter))
        if trace_file is not None:
            export(_provider, SimpleSpanProcessor(JsonLinesExporter(trace_file)))
        return _provider


def export(provider: TracerProvider, processor: SpanProcessor) -> None:
    """Hand the provider's finished spans to `processor` too; from now on every engine made
    also traces its statements, which no one sees unless spans are exported."""
    global _exporting
    provider.add_span_processor(processor)
    _exporting = True
    _instrument_statements(provider)


def _instrument_statements(provider: TracerProvider) -> None:
    """A span per SQL statement of every engine made from now on, once per process."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    if SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry:
        return
    # It declares sqlalchemy<2.1, but 2.1's engine events are the same (tests/unit/
    # test_tracing.py); it wraps create_async_engine: call that through the module.
    SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    # Its "connect" span is a pool checkout (per transaction, parsing the URL each time);
    # transaction_span() marks each transaction instead, the statement spans stay.
    from opentelemetry.instrumentation.utils import unwrap
    from sqlalchemy.engine import Engine

    unwrap(Engine, "connect")


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
        "tracer_provider": _provider,
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,  # exporters come from configure() alone
        "exclude": _quiet,
    }


def http_client(**options: Any) -> httpx.AsyncClient:
    """An httpx client whose requests are CLIENT spans carrying `traceparent` (httpx's
    instrumentation, per client: patching httpx for the whole process would also rewrite
    the headers of clients that are not the service's own, such as a test's)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    client = httpx.AsyncClient(**options)
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)
    return client


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
    if not _exporting or not trace.get_current_span().get_span_context().is_valid:
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
