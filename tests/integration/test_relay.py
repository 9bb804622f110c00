"""The outbox relay against real PostgreSQL and Kafka: one active relay per service, and a
stream's facts published in version order. Each test publishes to a topic of its own, so the
services' consumers in other tests never see these facts."""

import asyncio
from uuid import uuid4

import pytest

from shared import events
from shared.runtime import faults, kafka, outbox_rows
from shared.runtime.database import Database
from shared.runtime.outbox import OutboxRelay
from tests.support import infra, polling
from tests.unit import factories

pytestmark = pytest.mark.integration
BACKSTOP = 60.0  # the relay's poll, pushed out of the NOTIFY test's reach


async def test_only_one_relay_holds_the_role_and_another_takes_over(db: Database) -> None:
    topic = await infra.scratch_topic()
    relays = [
        OutboxRelay(
            db.engine,
            lambda: kafka.producer(infra.KAFKA, client_id="test-relay"),
            service="intake",
            topic=topic,
            crash=faults.CrashPoints(None),
        )
        for _ in range(2)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(r.run(s)) for r, s in zip(relays, stops, strict=True)]
    try:

        async def one_holder() -> int | None:
            holders = [i for i, relay in enumerate(relays) if relay.holds_role]
            return holders[0] if len(holders) == 1 else None

        first = await polling.until(one_holder, what="a relay to take the role")
        await asyncio.sleep(0.5)
        assert [r.holds_role for r in relays].count(True) == 1

        stops[first].set()  # the holder stops; its session lock goes with its connection
        await tasks[first]

        async def other_holds() -> bool | None:
            return True if relays[1 - first].holds_role else None

        await polling.until(other_holds, what="the other relay to take over")
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)


async def test_a_stream_is_published_in_version_order(db: Database) -> None:
    topic = await infra.scratch_topic()
    appeal_id = uuid4()
    received = factories.received(appeal_id)
    history: list[events.Event] = [received]
    for n in range(30):  # many small transactions, as a busy appeal would see
        history.append(factories.assigned(received, department=f"d{n}"))
    for version, event in enumerate(history):
        async with db.transaction() as tx:
            await tx.append(appeal_id, [event], expected_version=version)
    producer = kafka.producer(infra.KAFKA, client_id="test-relay-order")
    await producer.start()
    relay = OutboxRelay(
        db.engine,
        lambda: producer,
        service="intake",
        topic=topic,
        crash=faults.CrashPoints(None),
    )
    try:
        assert await relay.publish_batch(producer) == len(history)
        assert await relay.publish_batch(producer) == 0  # marked published: nothing sent twice
    finally:
        await producer.stop()
    versions = [
        m.fact["version"]
        for m in await infra.read_topic(topic)
        if m.fact.get("subject") == str(appeal_id)
    ]
    assert versions == list(range(1, len(history) + 1))


async def test_an_idle_relay_publishes_on_the_commits_notify_not_its_backstop_poll(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the backstop poll pushed out of reach, only the NOTIFY the append sends at its
    # commit can wake the relay in time: each fact is published well within the poll's
    # interval (half of it), however slow the box, or the wake-up path is broken.
    monkeypatch.setattr("shared.runtime.outbox.POLL_SECONDS", BACKSTOP)
    topic = await infra.scratch_topic()
    relay = OutboxRelay(
        db.engine,
        lambda: kafka.producer(infra.KAFKA, client_id="test-relay-wake"),
        service="intake",
        topic=topic,
        crash=faults.CrashPoints(None),
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:

        async def holding() -> bool | None:
            return True if relay.holds_role else None

        await polling.until(holding, what="the relay to take the role")
        for _ in range(3):
            await asyncio.sleep(0.3)  # idle, waiting on its wake-up
            appeal_id = uuid4()
            async with db.transaction() as tx:
                await tx.append(appeal_id, [factories.received(appeal_id)], expected_version=0)

            async def published() -> bool | None:
                async with db.engine.connect() as conn:
                    unpublished, _ = await outbox_rows.unpublished_stats(conn)
                return True if unpublished == 0 else None

            await polling.until(
                published, deadline_seconds=BACKSTOP / 2, what="the commit's NOTIFY to wake it"
            )
    finally:
        stopping.set()
        await task
