"""A replay beside a live store that holds the log checks it in place (audit_service/
in_place.py), on a real broker and database: equal with nothing rebuilt, parked records
and a fact published twice included; and each way the live store can differ from the log
at a place (a row lost, another hash, a row moved, a row where the log holds no fact) sends
the replay to a rebuild, which reports the difference."""

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit_service import comparison, in_place, log_reader, replay, store
from audit_service import switch_over as switching
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from audit_service.store.replays import rebuilt_count
from shared import envelope, topics
from shared.runtime import kafka
from shared.runtime.consumer import Delivery
from tests.support import histories, infra, tampering

pytestmark = pytest.mark.integration

INTAKE, DISPATCH = topics.BY_SOURCE["intake"], topics.BY_SOURCE["dispatch"]
_LAST = "(SELECT max(seq) FROM facts WHERE topic = :topic)"
# A live row added at a place on the scratch topic: a copy of the last intake row under a
# new event id.
_ADD_AT = (
    "INSERT INTO facts (event_id, source, type, subject, version, time, actor, causation_id, "
    'hash, prev_hash, body, topic, partition, "offset", seal) '
    "SELECT gen_random_uuid(), source, type, subject, version, time, actor, causation_id, "
    f"hash, prev_hash, body, :scratch, 0, :place, seal FROM facts WHERE seq = {_LAST}"
)


@dataclass
class HeldLog:
    runtime: AsyncEngine
    owner: AsyncEngine
    ends: dict[str, int]  # what the store was filled to: the replays here read that far
    facts: int  # the log's records that are facts, a fact published twice counted twice
    fact: bytes  # one fact on intake's topic, published again
    partition: int  # of intake's topic, where that fact went again
    scratch: str  # a topic of its own (SCRATCH_PLACES), read by the replays here too


# The scratch topic's one partition: transactions leave markers no consumer commits past,
# so they stay off the topics the other tests wait on.
SCRATCH_PLACES = {
    "aborted": 0,  # a record in an aborted transaction; its marker at 1
    "tombstone": 3,  # a record without a value, after one that is no fact at 2
    "marker": 4,  # the commit marker that ends the partition
}
SCRATCH_END = 5


async def _publish(partition: int, fact: bytes, elsewhere: tuple[int, bytes], scratch: str) -> None:
    """On that partition of intake's topic, the fact published again and its id reused for
    other content; a dispatch fact published again on another partition of its topic (the
    live loop and a rebuild keep an id's first read); and on the scratch topic, an aborted
    transaction, then a committed one holding two records that are no fact (parked live),
    one of them without a value."""
    reused = json.dumps({**json.loads(fact), "actor": "operator:someone-else"}).encode()
    plain = kafka.producer(infra.KAFKA, client_id="in-place-test")
    await plain.start()
    try:
        await plain.send_and_wait(INTAKE, fact, partition=partition)
        await plain.send_and_wait(INTAKE, reused, partition=partition)
        other, copied = elsewhere
        await plain.send_and_wait(DISPATCH, copied, partition=other)
    finally:
        await plain.stop()
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.KAFKA, transactional_id=f"in-place-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(scratch, b"aborted", partition=0)
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(scratch, b"not a fact", partition=0)
            await producer.send_and_wait(scratch, None, key=b"tombstone", partition=0)
    finally:
        await producer.stop()


async def _first_fact(topic: str, ends: dict[str, int]) -> tuple[int, bytes]:
    """The first fact read on the topic: its partition and its bytes."""
    own = {key: end for key, end in ends.items() if key.startswith(f"{topic}:")}
    async with log_reader.reading(infra.KAFKA, own) as batches:
        async for batch in batches:
            for record in batch:
                if log_reader.fact_row(record) is not None and log_reader.decodes(record.value):
                    return record.partition, bytes(record.value)
    raise AssertionError(f"no fact on {topic}")


async def _fill(runtime: AsyncEngine, ends: dict[str, int]) -> int:
    """The live store as audit's live loop fills it: each fact once, at its first place; a
    record that is no fact left out. Returns the log's fact records."""
    read, held, rows = 0, set(), []
    async with log_reader.reading(infra.KAFKA, ends) as batches:
        async for batch in batches:
            for record in batch:
                if log_reader.fact_row(record) is None or not log_reader.decodes(record.value):
                    continue
                read += 1
                fact = envelope.decode(record.value)
                if fact.event.id not in held:
                    held.add(fact.event.id)
                    delivery = Delivery(fact, record.topic, record.partition, record.offset)
                    rows.append(store.fact_row(delivery))
    async with runtime.begin() as conn:
        for start in range(0, len(rows), 1000):
            await store.add_facts(conn, rows[start : start + 1000])
    return read


@pytest.fixture
async def held_log(servers: None) -> AsyncIterator[HeldLog]:
    await histories.produce(3)
    before = {f"{t}:{p}": end for (t, p), end in (await infra.end_offsets(topics.ALL)).items()}
    partition, fact = await _first_fact(INTAKE, before)
    copied_from, copied = await _first_fact(DISPATCH, before)
    count = len(await kafka.partitions(infra.KAFKA, [DISPATCH]))
    scratch = await infra.scratch_topic()
    await _publish(partition, fact, ((copied_from + 1) % count, copied), scratch)
    url = await infra.fresh_database("t_in_place", AUDIT_MIGRATIONS)
    runtime, owner = create_async_engine(url), create_async_engine(infra.owner_url(url))
    try:
        _, _, ends = await replay.start(runtime, infra.KAFKA)
        ends[f"{scratch}:0"] = SCRATCH_END
        assert (await infra.end_offsets([scratch]))[(scratch, 0)] == SCRATCH_END
        facts = await _fill(runtime, ends)
        yield HeldLog(runtime, owner, ends, facts, fact, partition, scratch)
    finally:
        await runtime.dispose()
        await owner.dispose()


async def _replay(engine: AsyncEngine, ends: dict[str, int]) -> dict[str, Any]:
    """A whole replay, up to the end offsets the store was filled to: anything published
    to the shared topics since is no part of it."""
    async with engine.begin() as conn:
        replay_id, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
    await replay.run(
        engine, infra.KAFKA, replay_id=replay_id, schema_name=schema_name, end_offsets=ends
    )
    async with engine.connect() as conn:
        finished = await store.get_replay(conn, replay_id)
    assert finished is not None
    return finished


async def _pass(engine: AsyncEngine, ends: dict[str, int]) -> in_place.Held | None:
    """The pass over the log alone."""
    async with store.one_snapshot(engine, 1) as (conn,):
        return await in_place.holds_log(conn, engine, infra.KAFKA, ends, 0)


async def test_a_live_store_holding_the_log_is_checked_in_place(held_log: HeldLog) -> None:
    finished = await _replay(held_log.runtime, held_log.ends)

    assert finished["status"] == "equal", finished["report"]
    assert finished["report"]["rebuilt"] is False
    assert finished["report"]["rows_checked_by"] == "row seals"
    assert finished["report"]["live_digest"] == finished["report"]["replay_digest"]
    assert finished["facts_read"] == held_log.facts  # the fact published twice, twice
    async with held_log.runtime.connect() as conn:
        assert await rebuilt_count(conn, finished["schema_name"]) == 0
    # Its schema is empty: switched over to, it would remove every live row.
    with pytest.raises(switching.SwitchOverRefused, match="nothing to switch over"):
        await switching.switch_over(held_log.owner, finished["id"], by="operator:test")


async def test_a_rebuild_that_finds_the_live_store_equal_says_so(held_log: HeldLog) -> None:
    """The same log rebuilt (as a replay does when the check in place fails) compares
    equal too: the check in place and the rebuild agree on a store that holds the log."""
    runtime, ends = held_log.runtime, held_log.ends
    async with runtime.begin() as conn:
        replay_id, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
    read = await replay.rebuild(runtime, infra.KAFKA, schema_name, ends, replay_id)
    checked = await _pass(runtime, ends)
    assert checked is not None
    assert read == checked.facts == held_log.facts
    assert (await comparison.compare(runtime, schema_name, ends))["equal"] is True
    in_place_report = await comparison.compare_in_place(runtime, ends, rows=checked.rows)
    assert in_place_report is not None
    # a row gone between the check and the comparison: the count read no longer agrees
    assert await comparison.compare_in_place(runtime, ends, rows=checked.rows + 1) is None
    assert (
        in_place_report["live_digest"]
        == (await comparison.compare(runtime, schema_name, ends))["replay_digest"]
    )


async def test_rows_recorded_before_row_seals_are_checked_by_their_bytes(
    held_log: HeldLog,
) -> None:
    async with held_log.owner.begin() as conn:
        await conn.execute(text("UPDATE facts SET row_seal = NULL"))
    finished = await _replay(held_log.runtime, held_log.ends)

    assert finished["status"] == "equal", finished["report"]
    assert finished["report"]["rebuilt"] is False
    assert finished["report"]["rows_checked_by"] == "bytes"


async def test_a_column_edited_in_place_is_found_and_rebuilt(held_log: HeldLog) -> None:
    """Its hash still right, so the pass over the log holds it: the row checks do not."""
    async with held_log.owner.begin() as conn:
        await conn.execute(
            text(f"UPDATE facts SET actor = 'operator:someone-else' WHERE seq = {_LAST}"),
            {"topic": INTAKE},
        )
    finished = await _replay(held_log.runtime, held_log.ends)

    assert finished["status"] == "different", finished["report"]
    assert finished["report"]["rebuilt"] is True
    assert finished["report"]["differing_appeals"] == 1


async def test_an_empty_log_is_held_by_an_empty_store(held_log: HeldLog) -> None:
    """A replay over no records (a new deployment) is equal, not a failure."""
    url = await infra.fresh_database("t_in_place_empty", AUDIT_MIGRATIONS)
    empty = create_async_engine(url)
    try:
        nothing = dict.fromkeys(held_log.ends, 0)
        assert await _pass(empty, nothing) == in_place.Held(0, 0)
        finished = await _replay(empty, nothing)
    finally:
        await empty.dispose()
    assert finished["status"] == "equal", finished["report"]
    assert finished["report"]["rebuilt"] is False


# Each edit, and the difference the check in place names for it.
EDITS = {
    "a row lost": (f"DELETE FROM facts WHERE seq = {_LAST}", "a fact the live store lacks"),
    "another hash": (  # its bytes no longer hash to it (tampering.unchecked first)
        f"UPDATE facts SET hash = repeat('e', 64) WHERE seq = {_LAST}",
        ": another fact",
    ),
    "moved to a partition the log does not have": (
        f"UPDATE facts SET partition = 999 WHERE seq = {_LAST}",
        "a fact the live store lacks",
    ),
    "moved later in its partition": (
        f'UPDATE facts SET "offset" = :far WHERE seq = {_LAST}',
        "a fact the live store lacks",
    ),
    "moved before the partition's first record": (
        f'UPDATE facts SET "offset" = -1 WHERE seq = {_LAST}',
        "a live fact at a place where the log holds none",
    ),
    "at an aborted record's place": (
        _ADD_AT.replace(":place", ":aborted"),
        "a live fact at a place where the log holds none",
    ),
    "at the commit marker ending a partition": (
        _ADD_AT.replace(":place", ":marker"),
        "a live fact at a place past the log's last record",
    ),
    "at a record without a value": (
        _ADD_AT.replace(":place", ":tombstone"),
        ": another fact",
    ),
}


@pytest.mark.parametrize("edit", EDITS)
async def test_a_live_store_that_differs_at_a_place_is_rebuilt(
    held_log: HeldLog, edit: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with held_log.owner.begin() as conn:
        await tampering.unchecked(conn)
        changed = await conn.execute(
            text(EDITS[edit][0]),
            {"topic": INTAKE, "partition": held_log.partition, "far": 2**40,
             "scratch": held_log.scratch, **SCRATCH_PLACES},
        )  # fmt: skip
        assert changed.rowcount == 1
    with caplog.at_level(logging.INFO, logger="hotline.audit.replay"):
        assert await _pass(held_log.runtime, held_log.ends) is None
    [reason] = [r.reason for r in caplog.records if hasattr(r, "reason")]
    assert EDITS[edit][1] in reason, reason

    finished = await _replay(held_log.runtime, held_log.ends)
    assert finished["status"] == "different", finished["report"]
    assert finished["report"]["rebuilt"] is True
    assert finished["report"]["differing_appeals"] >= 1


async def test_a_replay_waits_a_while_for_the_live_loop_to_reach_its_end_offsets(
    servers: None,
) -> None:
    """A live store still catching up differs from the log at its tail: the replay gives
    audit's own consumer group a bounded while to commit up to the end offsets first."""
    topic, group = await infra.scratch_topic(), f"in-place-{uuid.uuid4().hex[:8]}"
    producer = kafka.producer(infra.KAFKA, client_id="in-place-test")
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(topic, f"record {n}".encode(), partition=0)
    finally:
        await producer.stop()
    ends, tp = {f"{topic}:0": 3}, TopicPartition(topic, 0)

    async def commit(offset: int) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=infra.KAFKA, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.commit({tp: offset})
        finally:
            await consumer.stop()

    quick = {"seconds": 0.3, "poll_seconds": 0.1}
    assert await replay.live_caught_up(infra.KAFKA, group, ends, **quick) is False  # none yet
    await commit(2)
    assert await replay.live_caught_up(infra.KAFKA, group, ends, **quick) is False
    await commit(3)
    assert await replay.live_caught_up(infra.KAFKA, group, ends, **quick) is True
