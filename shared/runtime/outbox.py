"""The outbox relay: publishes committed events in id order, then marks them published.

Only one relay per service may run (kafka.md §5): with two, one could publish version n+1 of
an appeal while the other still holds version n. A session-level advisory lock on a dedicated
connection elects the relay; the same connection LISTENs for the NOTIFY each append sends,
so an event is usually on Kafka milliseconds after its commit, with a short poll as backstop.

Takeover (docs/operations.md, Replicas): a stopping relay closes its lock session as soon as
its last batch is acknowledged; a killed one loses the lock when PostgreSQL sees its
connection close (the kernel closes it when the process dies). Standbys try the lock every
LOCK_RETRY_SECONDS, so the role moves within that much of the lock's release.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.runtime import database, eventstore, faults, logs, metrics, outbox_rows, pacing, tracing

log = logging.getLogger("hotline.outbox")

BATCH_SIZE = 500
POLL_SECONDS = 1.0  # backstop for a missed NOTIFY; the normal wake-up is the notification
LOCK_RETRY_SECONDS = 0.25  # a standby's attempt costs one round trip
LOCK_CHECK_SECONDS = 1.0  # the holder proves its lock session by a round trip this often


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        make_producer: Callable[[], AIOKafkaProducer],
        *,
        service: str,
        topic: str,
        crash: faults.CrashPoints,
        linger_seconds: float = 0.0,
        busy_linger_seconds: float = 0.0,
    ) -> None:
        self._engine = engine
        self._linger = pacing.Linger(linger_seconds, busy_linger_seconds)
        self._make_producer = make_producer
        self._service = service
        self._topic = topic
        self._crash = crash
        self.holds_role = False
        self.producer: AIOKafkaProducer | None = None  # while holding the role
        self._session: Any = None  # the lock session's asyncpg connection, while holding it

    async def run(self, stopping: asyncio.Event) -> None:
        """Publish until `stopping` is set; any fault restarts the role election with backoff."""
        # A series from the start: a replica that never takes the role (the lock held by a
        # dead session, say) shows 0, which the RelayMissing alert counts, not nothing.
        metrics.RELAY_ACTIVE.labels(self._service).set(0)
        backoff = 0.1
        while not stopping.is_set():
            try:
                await self._hold_role_and_publish(stopping)
                backoff = 0.1
            except Exception:
                log.exception("outbox relay failed; restarting", extra={"service": self._service})
                # The backlog's gauges are refreshed after a pass that published; a broker
                # refusing every send must show as a growing backlog (OutboxStuck), too.
                with contextlib.suppress(Exception):
                    await self._export_backlog()
                await _wait(stopping, backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.holds_role = False
                metrics.RELAY_ACTIVE.labels(self._service).set(0)

    async def _hold_role_and_publish(self, stopping: asyncio.Event) -> None:
        async with self._engine.connect() as lock_conn:
            try:
                if await self._acquire_role(lock_conn, stopping):
                    await self._connect_and_publish(lock_conn, stopping)
            finally:
                # The lock belongs to the session, not the transaction: a connection returned
                # to the pool would keep holding it and no relay could ever take over. Closing
                # the connection ends the session and releases the lock.
                await lock_conn.invalidate()

    async def _acquire_role(self, lock_conn: AsyncConnection, stopping: asyncio.Event) -> bool:
        try_lock = text("SELECT pg_try_advisory_lock(hashtext(:key))")
        while not (
            await lock_conn.execute(try_lock, {"key": f"outbox:{self._service}"})
        ).scalar_one():
            await lock_conn.commit()
            if await _wait(stopping, LOCK_RETRY_SECONDS):
                return False
        await lock_conn.commit()  # session-scoped: the lock outlives this commit
        return True

    async def _connect_and_publish(
        self, lock_conn: AsyncConnection, stopping: asyncio.Event
    ) -> None:
        # A fresh producer per term in the role: one that failed to start cannot be restarted.
        producer = self._make_producer()
        try:
            await producer.start()
            self.producer = producer
            await self._publish_while_holding(lock_conn, producer, stopping)
        finally:
            self.producer = None
            await producer.stop()

    async def _publish_while_holding(
        self, lock_conn: AsyncConnection, producer: AIOKafkaProducer, stopping: asyncio.Event
    ) -> None:
        self.holds_role = True
        metrics.RELAY_ACTIVE.labels(self._service).set(1)
        wake = asyncio.Event()
        session: Any = (await lock_conn.get_raw_connection()).driver_connection
        await session.add_listener(eventstore.OUTBOX_CHANNEL, lambda *_: wake.set())
        # Batches are claimed and marked on the lock session itself: no pool checkout per
        # pass, and a batch's transaction cannot outlive the lock that elected it.
        self._session = session
        last_stats = last_check = 0.0
        published = 0
        stop = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                # A lost session means a lost lock. The LISTEN keeps the driver reading the
                # session's socket, so a closed one shows at once without a round trip; a
                # round trip proves the session at most every LOCK_CHECK_SECONDS, not per pass.
                if session.is_closed():
                    raise ConnectionError("the relay's lock session is gone")
                if time.monotonic() - last_check > LOCK_CHECK_SECONDS:
                    await session.fetchval("SELECT 1")
                    last_check = time.monotonic()
                # While commits keep coming, one pass per linger (shared.runtime.pacing); a
                # backlog (the last batch full) is drained without one.
                if published < BATCH_SIZE:
                    await self._linger.until_due(stop)
                wake.clear()
                published = await self.publish_batch(producer)
                if published:
                    self._linger.found_work(published)
                if time.monotonic() - last_stats > 5:
                    await self._export_backlog()
                    last_stats = time.monotonic()
                # A claim sees every commit before it; a later one NOTIFYs after the clear
                # above. So short of a full batch, the next pass waits for that wake-up
                # rather than claiming again to find nothing.
                if published < BATCH_SIZE and not wake.is_set():
                    notified = asyncio.ensure_future(wake.wait())
                    await asyncio.wait(
                        {notified, stop}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
                    )
                    notified.cancel()
        finally:
            stop.cancel()
            self._session = None
            # Say so before the lock goes: no moment with two replicas claiming the role.
            self.holds_role = False
            metrics.RELAY_ACTIVE.labels(self._service).set(0)

    async def publish_batch(self, producer: AIOKafkaProducer) -> int:
        """Send one batch and mark it; a crash in between republishes it (consumers dedupe).
        On the lock session while holding the role, else (tests) on a pooled connection."""
        if self._session is not None:
            async with self._session.transaction():
                published = await self._publish_on(self._session, producer)
        else:
            async with database.Database(self._engine).transaction() as tx:
                published = await self._publish_on(tx.driver, producer)
        metrics.EVENTS_PUBLISHED.labels(self._service).inc(published)
        return published

    async def _publish_on(self, driver: Any, producer: AIOKafkaProducer) -> int:
        """Claim, send and mark one batch in the caller's transaction on `driver`."""
        rows = await outbox_rows.claim_unpublished(driver, BATCH_SIZE)
        if not rows:
            return 0
        self._crash.reach(faults.RELAY_BEFORE_SEND)
        # One PRODUCER span per event, child of the span it was recorded in; the record
        # carries the span's own context, so the consumer's span is its child.
        spans = [
            tracing.publish_span(self._topic, row["traceparent"], appeal_id=row["stream_id"])
            for row in rows
        ]
        failed: BaseException | None = None
        try:
            # Enqueue all, then await: batches form while idempotence keeps partition order.
            pending = [
                await producer.send(
                    self._topic,
                    value=row["body"].encode(),
                    key=str(row["stream_id"]).encode(),
                    headers=tracing.kafka_headers(span),
                )
                for row, span in zip(rows, spans, strict=True)
            ]
            await asyncio.gather(*pending)
        except BaseException as exc:
            failed = exc
            with logs.about(**_ids(rows[0])):
                log.warning("publishing failed", extra={"events": len(rows)})
            raise
        finally:
            for span in spans:
                tracing.end(span, failed)
        if log.isEnabledFor(logging.DEBUG):
            for row in rows:
                with logs.about(**_ids(row)):
                    log.debug("published", extra={"event_row": row["id"]})
        self._crash.reach(faults.RELAY_AFTER_SEND)
        await outbox_rows.mark_published(driver, [row["id"] for row in rows])
        return len(rows)

    async def _export_backlog(self) -> None:
        async with self._engine.connect() as conn:
            count, age = await outbox_rows.unpublished_stats(conn)
        metrics.OUTBOX_UNPUBLISHED.labels(self._service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(age)


def _ids(row: Any) -> dict[str, Any]:
    """The appeal and correlation ids of an outbox row, for its log lines."""
    return {
        "appeal_id": row["stream_id"],
        "correlation_id": json.loads(row["body"]).get("correlation_id"),
    }


async def _wait(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if stopping was requested meanwhile."""
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return False
    return True
