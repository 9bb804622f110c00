"""The idempotent consume loop (kafka.md §6), written once for every service.

Per record, one PostgreSQL transaction records the inbox row and runs the handler; the
Kafka offset moves only after that commit. A crash in between redelivers a record that the
inbox then skips. Undecodable or inapplicable records are parked with their reason; transient
faults (database or broker away) are retried with backoff and never skipped.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from shared import envelope, events, topics
from shared.runtime import eventstore, faults, metrics, tracing
from shared.runtime.eventstore import Database, Tx

log = logging.getLogger("hotline.consumer")

Handler = Callable[[Any, Tx], Awaitable[None]]
Handlers = Mapping[type[events.Event], Handler]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A decoded fact with where it was read from (for audit's own bookkeeping)."""

    fact: envelope.Recorded
    topic: str
    partition: int
    offset: int


FactHook = Callable[[Delivery, Tx], Awaitable[None]]


class TransientError(Exception):
    """Raise from a handler for a fault worth retrying (the record is not parked)."""


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        TransientError | OperationalError | InterfaceError | OSError | KafkaError | TimeoutError,
    )


def subscriptions(handlers: Handlers) -> list[str]:
    """The topics to read: those whose owning service emits a handled event type."""
    return sorted({topics.BY_SOURCE[event_type.source] for event_type in handlers})


class ConsumeLoop:
    def __init__(
        self,
        db: Database,
        make_consumer: Callable[[], AIOKafkaConsumer],
        *,
        group: str,
        service: str,
        handlers: Handlers,
        on_fact: FactHook | None = None,
        crash: faults.CrashPoints,
    ) -> None:
        self._db = db
        self._make_consumer = make_consumer
        self._group = group
        self._service = service
        self._handlers = handlers
        self._on_fact = on_fact
        self._crash = crash
        self.running = False
        self.consumer: AIOKafkaConsumer | None = None

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 0.1
        while not stopping.is_set():
            consumer = self.consumer = self._make_consumer()
            try:
                await consumer.start()
                self.running = True
                await self._consume(consumer, stopping)
                backoff = 0.1
            except Exception:
                log.exception("consume loop failed; restarting", extra={"service": self._service})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.running = False
                await consumer.stop()  # leaves the group; committed offsets are already safe

    async def _consume(self, consumer: AIOKafkaConsumer, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for partition, records in batches.items():
                for record in records:
                    await self._apply_with_retry(record, stopping)
                # Every record above is committed in PostgreSQL before its offset moves.
                await consumer.commit({partition: records[-1].offset + 1})

    async def _apply_with_retry(self, record: Any, stopping: asyncio.Event) -> None:
        backoff = 0.1
        while True:
            try:
                await self._apply(record)
                return
            except Exception as exc:
                if not _is_transient(exc) or stopping.is_set():
                    if stopping.is_set():
                        raise
                    await self._park(record, f"{type(exc).__name__}: {exc}", "inapplicable")
                    return
                metrics.RETRIES.labels(self._service).inc()
                log.warning("transient fault, retrying", extra={"error": str(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _apply(self, record: Any) -> None:
        parent = dict(record.headers or ()).get(tracing.HEADER, b"").decode("latin-1")
        token = tracing.current.set(tracing.continue_from(parent))
        try:
            await self._decode_and_apply(record)
        finally:
            tracing.current.reset(token)

    async def _decode_and_apply(self, record: Any) -> None:
        try:
            fact = envelope.decode(record.value)
        except envelope.DecodeError as exc:
            await self._park(record, str(exc), "undecodable")
            return
        if topics.BY_SOURCE.get(fact.source) != record.topic:
            await self._park(
                record, f"{fact.event.type} from {fact.source} on {record.topic}", "wrong_topic"
            )
            return
        handler = self._handlers.get(type(fact.event))
        if handler is None and self._on_fact is None:
            return  # a fact this service does not react to
        async with self._db.transaction() as tx:
            if not await tx.first_delivery(self._group, fact.event.id):
                metrics.DUPLICATES.labels(self._service).inc()
                return
            if self._on_fact is not None:
                await self._on_fact(
                    Delivery(fact, record.topic, record.partition, record.offset), tx
                )
            if handler is not None:
                await handler(fact.event, tx)
        metrics.CONSUMED.labels(self._service, fact.event.type).inc()
        self._crash.reach(faults.CONSUMER_AFTER_DB_COMMIT)

    async def _park(self, record: Any, reason: str, kind: str) -> None:
        log.error(
            "parking message",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
        async with self._db.transaction() as tx:
            await eventstore.park(
                tx.conn,
                group=self._group,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                body=record.value,
                reason=reason,
            )
        metrics.PARKED.labels(self._service, kind).inc()
