"""The relay's spans against real PostgreSQL, caught in memory: an event recorded in a
request's span is published in a PRODUCER span that is its child, whose context is the
record's traceparent header; SQLAlchemy's instrumentation (on SQLAlchemy 2.1, which its
package does not declare) traces the statements. The producer is a stand-in: no broker."""

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext import asyncio as sa_asyncio

from shared.runtime import faults, tracing
from shared.runtime.database import Database
from shared.runtime.outbox import OutboxRelay
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, topic: str, **record: Any) -> "asyncio.Future[None]":
        self.sent.append({"topic": topic, **record})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_the_relay_publishes_each_event_in_a_child_span_of_its_request(
    db: Database,
    spans: InMemorySpanExporter,
) -> None:
    appeal_id = uuid4()
    received = factories.received(appeal_id)
    async with db.transaction() as tx:
        await tx.append(
            appeal_id,
            [received, factories.forwarded(received)],
            expected_version=0,
            traceparent=PARENT,
        )
    producer = Producer()
    relay = OutboxRelay(
        db.engine,
        lambda: producer,
        service="intake",
        topic="scratch",
        crash=faults.CrashPoints(None),
    )
    assert await relay.publish_batch(producer) == 2

    published = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert len(published) == 2
    for span, record in zip(published, producer.sent, strict=True):
        assert span.context is not None
        assert span.parent is not None
        assert format(span.context.trace_id, "032x") == PARENT.split("-")[1]
        assert format(span.parent.span_id, "016x") == PARENT.split("-")[2]
        assert span.attributes is not None
        assert span.attributes["hotline.appeal_id"] == str(appeal_id)
        span_id = format(span.context.span_id, "016x")
        assert dict(record["headers"])["traceparent"].decode() == (
            f"00-{PARENT.split('-')[1]}-{span_id}-01"
        )


async def test_sqlalchemy_statements_are_spans_of_the_current_trace(
    servers: None,
    spans: InMemorySpanExporter,
) -> None:
    engine = sa_asyncio.create_async_engine(infra.pg_url("postgres"))
    try:
        with tracing.tracer().start_as_current_span("outer") as outer:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    statements = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.CLIENT and s.attributes and "SELECT" in str(s.attributes)
    ]
    assert statements, [s.name for s in spans.get_finished_spans()]
    assert statements[0].context is not None
    assert statements[0].context.trace_id == outer.get_span_context().trace_id
