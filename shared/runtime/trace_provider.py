"""The process's tracer provider: where spans go and what a span is while they go nowhere.

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
import os
import threading
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

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
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

_lock = threading.Lock()
_provider: TracerProvider | None = None
_exporting = False  # spans leave the process (export): made even where only they see them


def current() -> TracerProvider | None:
    """The process's provider, once `configure` installed it."""
    return _provider


def exporting() -> bool:
    """Whether spans leave the process: then even spans only an exporter sees are made."""
    return _exporting


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
    # tracing.transaction_span() marks each transaction instead, the statement spans stay.
    from opentelemetry.instrumentation.utils import unwrap
    from sqlalchemy.engine import Engine

    unwrap(Engine, "connect")
