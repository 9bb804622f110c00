"""The relay and the consume loop under a steady stream and after a quiet spell, on real
PostgreSQL and Kafka (shared.runtime.pacing): while records keep coming they take one pass
per linger, each carrying what arrived meanwhile (the relay's longer after a pass that found
a burst); a record after a quiet spell goes at once; nothing is lost or applied twice, and
the consumer's offsets reach the end while it runs and when it stops."""

import asyncio
import itertools
import time
from typing import Any
from uuid import uuid4

import pytest

from shared import envelope, topics
from shared.runtime import faults, kafka, outbox, outbox_rows, pacing
from shared.runtime.consumer import ConsumeLoop, Delivery
from shared.runtime.database import Database
from shared.runtime.eventstore import Tx
from shared.runtime.outbox import OutboxRelay
from tests.support import infra, polling
from tests.unit import factories

pytestmark = pytest.mark.integration

# Long against a hop on a busy test box, so "at once" and "held" stay apart: a record after
# quiet must go within AT_ONCE, which only a pass taken without the linger can do, and how
# long that takes on a loaded box does not matter. Passes are held apart at least a linger.
LINGER = 10.0
AT_ONCE = LINGER / 2
STREAM, EVERY = 40, 0.01  # a steady stream: a record every 10 ms for 0.4 s


async def test_a_busy_relay_takes_a_pass_per_linger_and_an_idle_one_publishes_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "POLL_SECONDS", 60.0)  # only commits' NOTIFYs wake it
    claimed = _count_claims(monkeypatch)
    topic = await infra.scratch_topic()
    relay = _relay(db, topic, linger_seconds=LINGER)
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    appeals = [uuid4() for _ in range(STREAM + 1)]
    try:
        await polling.until(lambda: _true(relay.holds_role), what="the relay to take the role")
        await asyncio.sleep(0.2)
        await _append(db, appeals[0])
        await polling.until(  # after quiet: at once, no linger
            lambda: _published(db), deadline_seconds=AT_ONCE, what="the lone fact at once"
        )

        for appeal_id in appeals[1:]:  # within the linger of that pass
            await _append(db, appeal_id)
            await asyncio.sleep(EVERY)
        await polling.until(lambda: _published(db), what="the stream to be published")
    finally:
        stopping.set()
        await task
    found = [(at, rows) for at, rows in claimed if rows]
    assert sum(rows for _, rows in found) == len(appeals)
    assert found[0][1] == 1  # the lone fact, in a pass of its own
    # The stream went in passes a linger apart at least: fewer than its records.
    assert len(found) < len(appeals), found
    assert all(b - a >= LINGER for (a, _), (b, _) in itertools.pairwise(found)), found
    # Only the first pass claims to find nothing.
    assert [rows for _, rows in claimed].count(0) <= 1, claimed
    published = [m.fact["subject"] for m in await infra.read_topic(topic)]
    assert published == [str(a) for a in appeals]  # each once, in commit order


async def test_after_a_pass_that_found_a_burst_the_relay_lingers_longer_then_not(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "POLL_SECONDS", 60.0)  # only commits' NOTIFYs wake it
    claimed = _count_claims(monkeypatch)
    busy = LINGER
    relay = _relay(db, await infra.scratch_topic(), linger_seconds=0.05, busy_linger_seconds=busy)
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        await polling.until(lambda: _true(relay.holds_role), what="the relay to take the role")
        await asyncio.sleep(0.2)
        # One commit: the first pass finds a burst, more than the busy rate's worth.
        burst = int(pacing.BUSY_RATE * pacing.RATE_SECONDS) + 1
        async with db.transaction() as tx:
            for appeal_id in [uuid4() for _ in range(burst)]:
                await tx.append(appeal_id, [factories.received(appeal_id)], expected_version=0)
        await polling.until(lambda: _published(db), what="the burst to be published")
        await _append(db, uuid4())
        await polling.until(lambda: _published(db), what="the fact after the burst")

        # That pass found one: the short linger again, so the next lone fact goes at once.
        await _append(db, uuid4())
        await polling.until(
            lambda: _published(db), deadline_seconds=AT_ONCE, what="the next lone fact at once"
        )
    finally:
        stopping.set()
        await task
    found = [(at, rows) for at, rows in claimed if rows]
    assert [rows for _, rows in found] == [burst, 1, 1]
    assert found[1][0] - found[0][0] >= busy  # held for the busy linger after the burst


async def test_a_busy_consume_loop_applies_a_stream_in_few_transactions_a_lone_fact_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = await infra.scratch_topic()
    monkeypatch.setitem(topics.BY_SOURCE, "intake", topic)  # intake's facts come from here
    group = f"test-pacing-{uuid4().hex[:8]}"
    transactions: list[Tx] = []
    applied: dict[str, float] = {}  # event id -> when its handler ran

    async def on_fact(delivery: Delivery, tx: Tx) -> None:
        if not transactions or transactions[-1] is not tx:
            transactions.append(tx)
        applied[str(delivery.fact.event.id)] = time.monotonic()

    loop = ConsumeLoop(
        db,
        lambda: kafka.consumer(infra.KAFKA, group=group, instance_id=None, subscribe=[topic]),
        group=group,
        service="test",
        handlers={},
        on_fact=on_fact,
        crash=faults.CrashPoints(None),
        linger_seconds=LINGER,
    )
    producer = kafka.producer(infra.KAFKA, client_id="test-pacing")
    await producer.start()
    stopping = asyncio.Event()
    task = asyncio.create_task(loop.run(stopping))
    facts = [
        envelope.encode(factories.received(uuid4()), version=1, prev_hash=envelope.GENESIS_HASH)
        for _ in range(STREAM + 1)
    ]
    try:
        await polling.until(lambda: _true(loop.assigned), what="the partition to be assigned")
        sent = time.monotonic()
        await producer.send_and_wait(topic, facts[0].body, key=b"lone")
        await polling.until(  # after quiet: at once
            lambda: _true(len(applied) == 1), deadline_seconds=AT_ONCE, what="the lone fact"
        )

        for fact in facts[1:]:
            await producer.send_and_wait(topic, fact.body, key=str(fact.event.subject).encode())
            await asyncio.sleep(EVERY)
        await polling.until(lambda: _true(len(applied) == len(facts)), what="the stream")
        # Passes with records begin a linger apart at least, all since the lone fact was sent,
        # so there are no more than that time allows: the lone fact's, then one or two for the
        # stream (each takes what the fetcher holds by then).
        passes = 1 + (time.monotonic() - sent) // LINGER
        assert len(transactions) <= passes, (len(transactions), passes)
        assert len(transactions) < len(facts)
        assert list(applied) == [str(fact.event.id) for fact in facts]  # in the order sent

        # Offsets move while the loop runs, once it runs out of records after the last pass...
        await polling.until(lambda: _committed(group, topic, len(facts)), what="the offsets")

        # ... and a record applied just before a stop has its offset committed by the stop.
        await producer.send_and_wait(topic, facts[0].body, key=b"again")  # a duplicate
        await asyncio.sleep(0.2)
    finally:
        stopping.set()
        await task
        await producer.stop()
    assert await _committed(group, topic, len(facts) + 1)
    assert len(applied) == len(facts)  # the duplicate was not applied again
    rows = await infra.query(
        db.engine.url.render_as_string(hide_password=False),
        "SELECT count(*) FROM processed_events WHERE consumer_group = :group",
        group=group,
    )
    assert rows == [(len(facts),)]


def _count_claims(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, int]]:
    """When each of the relay's claims began, and the rows it found, as it goes."""
    claimed: list[tuple[float, int]] = []
    claim = outbox_rows.claim_unpublished

    async def counted(conn: Any, limit: int) -> list[Any]:
        began = time.monotonic()
        rows = await claim(conn, limit)
        claimed.append((began, len(rows)))
        return rows

    monkeypatch.setattr(outbox_rows, "claim_unpublished", counted)
    return claimed


def _relay(db: Database, topic: str, **lingers: float) -> OutboxRelay:
    return OutboxRelay(
        db.engine,
        lambda: kafka.producer(infra.KAFKA, client_id="test-relay-linger"),
        service="intake",
        topic=topic,
        crash=faults.CrashPoints(None),
        **lingers,
    )


async def _true(value: object) -> bool | None:
    return True if value else None


async def _append(db: Database, appeal_id: Any) -> None:
    async with db.transaction() as tx:
        await tx.append(appeal_id, [factories.received(appeal_id)], expected_version=0)


async def _published(db: Database) -> bool | None:
    async with db.engine.connect() as conn:
        unpublished, _ = await outbox_rows.unpublished_stats(conn)
    return True if unpublished == 0 else None


async def _committed(group: str, topic: str, offset: int) -> bool | None:
    committed = await infra.committed_offsets(group)
    return True if committed.get((topic, 0), -1) == offset else None
