"""Tracing and log ids in one process, spans caught by an in-memory exporter (`spans`): a record's
trace context goes from the relay's PRODUCER span through the Kafka headers into the consume
loop's CONSUMER span, the events a handler appends continue it, and the log lines of the
loop carry the appeal and correlation ids. A 500 carries X-Request-Id."""

import io
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import envelope, events, topics
from shared.runtime import faults, logs, trace_provider, tracing
from shared.runtime.app import ServiceSpec, create_service
from shared.runtime.consumer import ConsumeLoop
from shared.runtime.memory import MemoryDatabase, MemoryTx
from shared.runtime.settings import ServiceSettings
from tests.unit import factories

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def _hex(span: ReadableSpan, part: str = "trace") -> str:
    assert span.context is not None
    return (
        format(span.context.trace_id, "032x")
        if part == "trace"
        else format(span.context.span_id, "016x")
    )


async def test_a_record_continues_the_trace_it_was_published_in(
    spans: InMemorySpanExporter,
) -> None:
    received = factories.received()
    forwarded = factories.forwarded(received)
    # The relay's side: a PRODUCER span, child of the request that recorded the event.
    publish = tracing.publish_span(topics.INTAKE, PARENT, appeal_id=received.subject)
    headers = tracing.kafka_headers(publish)
    tracing.end(publish)
    record = Record(
        topics.INTAKE,
        0,
        7,
        str(received.subject).encode(),
        envelope.encode(forwarded, version=2, prev_hash=envelope.GENESIS_HASH).body,
        headers,
    )
    seen: dict[str, Any] = {}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("dispatch"))
    logging.getLogger("test.handler").addHandler(handler)

    async def on_forwarded(event: events.AppealForwarded, tx: MemoryTx) -> None:
        seen["traceparent"] = tracing.traceparent()  # what an appended event would keep
        logging.getLogger("test.handler").warning("handling")

    loop = ConsumeLoop(
        MemoryDatabase(),  # type: ignore[arg-type]
        lambda: None,
        group="dispatch",
        service="dispatch",
        handlers={events.AppealForwarded: on_forwarded},  # type: ignore[dict-item]
        crash=faults.CrashPoints(None),
    )
    try:
        async with MemoryDatabase().transaction() as tx:
            fact = envelope.decode(record.value)
            outcome = await loop._apply(record, fact, True, tx)  # type: ignore[arg-type]
    finally:
        logging.getLogger("test.handler").removeHandler(handler)
    assert outcome == "appeal.forwarded"

    by_kind = {span.kind: span for span in spans.get_finished_spans()}
    producer, consumer = by_kind[SpanKind.PRODUCER], by_kind[SpanKind.CONSUMER]
    trace_id = PARENT.split("-")[1]
    assert _hex(producer) == _hex(consumer) == trace_id
    assert producer.parent is not None
    assert format(producer.parent.span_id, "016x") == PARENT.split("-")[2]
    assert consumer.parent is not None
    assert producer.context is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.name == f"{topics.INTAKE} process"
    assert consumer.attributes is not None
    assert consumer.attributes["hotline.appeal_id"] == str(received.subject)
    assert consumer.attributes["hotline.outcome"] == "appeal.forwarded"
    # An event the handler appends is recorded as a child of the consumer's span.
    assert seen["traceparent"] == f"00-{trace_id}-{_hex(consumer, 'span')}-01"
    line = json.loads(stream.getvalue())
    assert line["trace_id"] == trace_id
    assert line["appeal_id"] == str(received.subject)
    assert line["correlation_id"] == str(received.correlation_id)


async def _logged_get(
    router: APIRouter, service: str, path: str, **request: Any
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """GET `path` from a service app serving `router`; the answer and the JSON log lines."""
    settings = ServiceSettings(service_name=service, database_url="postgresql://x@127.0.0.1/x")
    app = create_service(ServiceSpec(settings=settings, router=router, migrations_dir=None))  # type: ignore[arg-type]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter(service))
    logging.getLogger().addHandler(handler)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get(path, **request)
    finally:
        logging.getLogger().removeHandler(handler)
    return answer, [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_an_unhandled_error_answers_500_with_the_request_id_logged_with_the_trace(
    spans: InMemorySpanExporter,
) -> None:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("nothing should leak")

    answer, lines = await _logged_get(
        router, "intake", "/boom", headers={"X-Request-Id": "req-42", "traceparent": PARENT}
    )
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "req-42"
    assert "nothing should leak" not in answer.text
    unhandled = next(line for line in lines if line["message"] == "unhandled error")
    request = next(line for line in lines if line["message"] == "request")
    for line in (unhandled, request):
        assert line["request_id"] == "req-42"
        assert line["trace_id"] == PARENT.split("-")[1]
    assert request["status"] == 500
    server = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert [_hex(s) for s in server] == [PARENT.split("-")[1]]


async def test_a_secret_in_the_path_or_query_is_neither_logged_nor_traced(
    spans: InMemorySpanExporter,
) -> None:
    router = APIRouter()

    @router.get("/v1/rating-links/{token}")
    async def link(token: str) -> None:
        return None

    secret = "s3cr3t-link-token-0123456789"
    path, query = f"/v1/rating-links/{secret}", {"api_key": secret}
    linked, lines = await _logged_get(router, "feedback", path, params=query)
    assert linked.status_code == 200
    [request] = [line for line in lines if line["message"] == "request"]
    assert request["path"] == "/v1/rating-links/{token}"
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert server.attributes is not None
    assert server.attributes["url.path"] == "/v1/rating-links/{token}"
    assert server.attributes["url.query"] == "api_key=REDACTED"
    service = [line for line in lines if line["logger"] != "httpx"]  # not the test's client
    assert secret not in json.dumps(service) + str(dict(server.attributes))


async def test_the_services_http_client_traces_and_propagates(
    spans: InMemorySpanExporter,
) -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(204)

    async with tracing.http_client(transport=httpx.MockTransport(answer)) as client:
        await client.post("http://partner.invalid/hook?access_token=SECRET", content=b"{}")
    [span] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert "SECRET" not in str(dict(span.attributes or {}))  # a receiver's token, not traced
    assert "http://partner.invalid/hook" in dict(span.attributes or {}).values()
    [sent] = seen
    assert sent is not None
    assert sent.split("-")[1:3] == [_hex(span), _hex(span, "span")]
    # A plain client is left alone: the process is not patched as a whole.
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as plain:
        await plain.post("http://partner.invalid/hook", headers={"traceparent": PARENT})
    assert seen[-1] == PARENT


async def test_while_nothing_is_exported_a_span_is_its_ids_and_the_trace_goes_on(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_provider, "_exporting", False)
    router = APIRouter()
    seen: list[str | None] = []

    @router.get("/work")
    async def work() -> None:
        assert not trace.get_current_span().is_recording()
        seen.append(tracing.traceparent())  # what an event appended here would keep

    settings = ServiceSettings(service_name="intake", database_url="postgresql://x@127.0.0.1/x")
    app = create_service(ServiceSpec(settings=settings, router=router, migrations_dir=None))  # type: ignore[arg-type]
    unsampled = PARENT[:-2] + "00"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for parent in (PARENT, unsampled):
            assert (await client.get("/work", headers={"traceparent": parent})).status_code == 200
        assert (await client.get("/work")).status_code == 200
    continued, not_sampled, new = [str(s).split("-") for s in seen]
    _, trace_id, parent_span, _ = PARENT.split("-")
    # The request's span continues the caller's trace with an id of its own, and keeps
    # the caller's sampling decision (the default sampler is parent-based).
    assert continued[1:] == [trace_id, continued[2], "01"]
    assert continued[2] != parent_span
    assert not_sampled[1:] == [trace_id, not_sampled[2], "00"]
    assert new[1] not in {trace_id, "0" * 32}  # a new trace, sampled
    assert new[3] == "01"
    # A record published from that span continues it in the next service.
    publish = tracing.publish_span(topics.INTAKE, "-".join(continued), appeal_id="a")
    record = Record(topics.INTAKE, 0, 1, b"", b"", tracing.kafka_headers(publish))
    tracing.end(publish)
    with tracing.consume_span(record, "dispatch") as consumer:
        context = consumer.get_span_context()
        assert not consumer.is_recording()
        assert format(context.trace_id, "032x") == trace_id
        assert context.span_id != publish.get_span_context().span_id
    assert spans.get_finished_spans() == ()  # nothing recorded, nothing exported
