"""The idempotent consume loop (kafka.md §6), written once for every service.

For each fetch, one PostgreSQL transaction records the inbox rows and runs the handlers
on its records in the order they were produced (across topics too, so a cause applies
before its effect); the Kafka offsets move only after that commit. A crash in
between redelivers records that the inbox then skips. Undecodable or inapplicable records
are parked with their reason; transient faults (database or broker away) are retried with
backoff and never skipped.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from shared import envelope, topics
from shared.runtime import deliveries, faults, logs, metrics, pacing, tracing
from shared.runtime.batch import BatchRead, BatchTx
from shared.runtime.database import Database
from shared.runtime.deliveries import Delivery, FactHook, Handlers, ParkHook, is_transient
from shared.runtime.eventstore import Tx
from shared.runtime.reading import Reader

__all__ = ["ConsumeLoop", "Delivery", "FactHook", "Handlers", "ParkHook"]

log = logging.getLogger("hotline.consumer")

IGNORED, DUPLICATE, PARKED = "ignored", "duplicate", "parked:"


def _appeal(record: Any) -> str | None:
    """The appeal id a record is keyed by (before its body is decoded, or if it cannot be)."""
    return record.key.decode("latin-1") if record.key else None


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
        on_park: ParkHook | None = None,
        on_duplicate: FactHook | None = None,
        crash: faults.CrashPoints,
        linger_seconds: float = 0.0,
        batch_read: BatchRead | None = None,
    ) -> None:
        self._db = db
        self._make_consumer = make_consumer
        self._group = group
        self._service = service
        self._handlers = handlers
        self._on_fact = on_fact
        self._on_park = on_park
        self._on_duplicate = on_duplicate
        self._crash = crash
        self._batch_read = batch_read
        self.running = False
        self.consumer: AIOKafkaConsumer | None = None
        self.assigned: frozenset[TopicPartition] = frozenset()  # this replica's share, now
        self._linger = pacing.Linger(linger_seconds)

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 0.1
        while not stopping.is_set():
            consumer = self.consumer = self._make_consumer()
            reader = Reader(consumer, self._linger)
            if wanted := consumer.subscription():  # the same topics, now told of rebalances
                consumer.subscribe(sorted(wanted), listener=_Assignment(self, reader))
            try:
                await consumer.start()
                self.running = True
                await self._consume(reader, stopping)
                backoff = 0.1
            except Exception:
                log.exception("consume loop failed; restarting", extra={"service": self._service})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.running = False
                # A dynamic member leaves the group here (LeaveGroup), so the other replicas
                # take its partitions at their next heartbeat; committed offsets are safe.
                await consumer.stop()
                self._assigned(frozenset())

    def _assigned(self, partitions: frozenset[TopicPartition]) -> None:
        self.assigned = partitions
        metrics.PARTITIONS_ASSIGNED.labels(self._service).set(len(partitions))

    async def _consume(self, reader: Reader, stopping: asyncio.Event) -> None:
        stop = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                fetched = await reader.fetch(stop)
                if fetched is None:
                    return
                if batch := deliveries.assigned_only(fetched, reader.consumer.assignment()):
                    await self._apply_batch(deliveries.in_produced_order(batch), stopping)
                    # Every record above is committed in PostgreSQL before its offset moves.
                    reader.applied(batch)
                await reader.commit_if_due()
        finally:
            stop.cancel()
            # Before the consumer stops (and leaves its group): the last offsets are kept.
            await reader.commit_now()

    async def _apply_batch(self, records: list[Any], stopping: asyncio.Event) -> None:
        """Apply records in one transaction (one commit, not one per record). If one cannot
        apply, the batch rolls back and is redone record by record, so only that one is
        parked. A transient fault retries the batch with backoff, never skipping it."""
        backoff = 0.1
        while True:
            try:
                await self._apply_in_one_transaction(records)
                return
            except Exception as exc:
                if stopping.is_set():
                    raise
                # A lost race is one record's: redone alone, the rest of the batch is not
                # held back by routes that keep writing its other streams.
                if not is_transient(exc) or (deliveries.is_race(exc) and len(records) > 1):
                    if len(records) == 1:
                        await self._park(records[0], f"{type(exc).__name__}: {exc}", "inapplicable")
                    else:
                        for record in records:
                            await self._apply_batch([record], stopping)
                    return
                metrics.RETRIES.labels(self._service).inc()
                with logs.about(appeal_id=_appeal(records[0]) if len(records) == 1 else None):
                    log.warning(
                        "transient fault, retrying",
                        extra={"error": str(exc), "records": len(records)},
                    )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _apply_in_one_transaction(self, records: list[Any]) -> None:
        async with self._db.transaction(BatchTx) as tx:
            assert isinstance(tx, BatchTx)
            outcomes = await self._apply_all(records, tx)
        for outcome in outcomes:  # counted only once committed
            if outcome == DUPLICATE:
                metrics.DUPLICATES.labels(self._service).inc()
            elif outcome.startswith(PARKED):
                metrics.PARKED.labels(self._service, outcome.removeprefix(PARKED)).inc()
            elif outcome != IGNORED:
                metrics.CONSUMED.labels(self._service, outcome).inc()
        self._crash.reach(faults.CONSUMER_AFTER_DB_COMMIT)

    async def _apply_all(self, records: list[Any], tx: BatchTx) -> list[str]:
        """Decode each record once; record the batch's inbox rows and read the streams its
        handlers fold (of first deliveries) and the service's BatchRead in one statement;
        then apply the records in order (their writes reach PostgreSQL at the flush before
        the commit). Returns each outcome."""
        sorted_out = [await self._sort_out(record, tx) for record in records]
        facts = [fact for fact in sorted_out if isinstance(fact, envelope.Recorded)]
        handled = [fact for fact in facts if type(fact.event) in self._handlers]
        fresh = await tx.first_deliveries(
            self._group,
            [fact.event.id for fact in facts],
            streams=[(fact.event.id, fact.event.subject) for fact in handled],
            read=self._batch_read if handled else None,  # only handlers look at it
        )
        tx.batch = list({fact.event.id: fact for fact in facts if fact.event.id in fresh}.values())
        outcomes = []
        for record, fact in zip(records, sorted_out, strict=True):
            if isinstance(fact, str):
                outcomes.append(fact)
                continue
            first = fact.event.id in fresh
            fresh.discard(fact.event.id)  # a second copy in this batch is a duplicate
            outcomes.append(await self._apply(record, fact, first, tx))
        await tx.notify_changed([f.event.subject for f in handled])  # shared.runtime.changes
        return outcomes

    async def _sort_out(self, record: Any, tx: Tx) -> envelope.Recorded | str:
        """The fact to apply, or the outcome of a record not to apply (parked here)."""
        try:
            fact = envelope.decode(record.value)
        except envelope.DecodeError as exc:
            await self._park_in(tx, record, str(exc))
            return PARKED + "undecodable"
        if topics.BY_SOURCE.get(fact.source) != record.topic:
            reason = f"{fact.event.type} from {fact.source} on {record.topic}"
            await self._park_in(tx, record, reason)
            return PARKED + "wrong_topic"
        if self._on_fact is None and type(fact.event) not in self._handlers:
            return IGNORED  # a fact this service does not react to
        return fact

    async def _apply(self, record: Any, fact: envelope.Recorded, first: bool, tx: Tx) -> str:
        """Apply one fact inside `tx`, in a CONSUMER span continuing the trace its record's
        headers carry and with its ids on every log line; returns what happened (metrics)."""
        event = fact.event
        with (
            tracing.consume_span(record, self._group) as span,
            logs.about(appeal_id=event.subject, correlation_id=event.correlation_id),
        ):
            tracing.describe(event)
            delivery = Delivery(fact, record.topic, record.partition, record.offset)
            if not first:
                if self._on_duplicate is not None:
                    await self._on_duplicate(delivery, tx)
                outcome = DUPLICATE
            else:
                if self._on_fact is not None:
                    await self._on_fact(delivery, tx)
                if (handler := self._handlers.get(type(event))) is not None:
                    await handler(event, tx)
                outcome = event.type
            span.set_attribute("hotline.outcome", outcome)
            return outcome

    async def _park(self, record: Any, reason: str, kind: str) -> None:
        try:
            await self._park_alone(record, reason, note_it=True)
        except Exception as exc:
            if deliveries.is_transient(exc) or self._on_park is None:
                raise
            # The service's own note of it failed on the record itself: parked without it,
            # the failure said in the reason. A park that fails every time would hold the
            # partition, and every batch holding it, for good.
            note = f"{reason}; and noting it failed: {type(exc).__name__}: {exc}"
            await self._park_alone(record, note, note_it=False)
        metrics.PARKED.labels(self._service, kind).inc()

    async def _park_alone(self, record: Any, reason: str, *, note_it: bool) -> None:
        async with self._db.transaction() as tx:
            with logs.about(appeal_id=_appeal(record)):
                await self._park_in(tx, record, reason, note_it=note_it)

    async def _park_in(self, tx: Tx, record: Any, reason: str, *, note_it: bool = True) -> None:
        with logs.about(appeal_id=_appeal(record)):
            log.error(
                "parking message",
                extra={
                    "topic": record.topic,
                    "offset": record.offset,
                    "partition": record.partition,
                    "reason": reason,
                },
            )
        await deliveries.park(
            tx.conn,
            group=self._group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            body=record.value,
            reason=reason,
        )
        if self._on_park is not None and note_it:
            await self._on_park(record, reason, tx)


class _Assignment(ConsumerRebalanceListener):  # type: ignore[misc]
    """Keeps the loop's view of its partitions (and the metric) in step with the group."""

    def __init__(self, loop: ConsumeLoop, reader: Reader) -> None:
        self._loop = loop
        self._reader = reader

    async def on_partitions_revoked(self, revoked: Any) -> None:
        del revoked
        self._loop._assigned(frozenset())  # eager rebalancing: everything goes back first
        # What this member applied is committed before its partitions move, so their next
        # owner does not read it again (it would skip it, by the inbox, at a cost).
        await self._reader.commit_now()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._loop._assigned(frozenset(assigned))
        log.info("partitions assigned", extra={"count": len(assigned)})
