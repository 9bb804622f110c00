"""A replay beside a live store that holds the log checks it in place (audit_service/
in_place.py), on a real broker and database: equal with nothing rebuilt, parked records
and a fact published twice included; and each way the live store can differ from the log
at a place (a row lost, another hash, a row moved, a row where the log holds no fact) sends
the replay to a rebuild, which reports the difference."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit_service import in_place, log_reader, replay, store
from audit_service import switch_over as switching
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from audit_service.store.replays import rebuilt_count
from shared import envelope, topics
from shared.runtime import kafka
from shared.runtime.consumer import Delivery
from tests.support import histories, infra

pytestmark = pytest.mark.integration

INTAKE = topics.BY_SOURCE["intake"]
_LAST = "(SELECT max(seq) FROM facts WHERE topic = :topic)"
# A live row added at a place on the partition the transactions went to: a copy of the
# last intake row under a new event id.
_ADD_AT = (
    "INSERT INTO facts (event_id, source, type, subject, version, time, actor, causation_id, "
    'hash, prev_hash, body, topic, partition, "offset", seal) '
    "SELECT gen_random_uuid(), source, type, subject, version, time, actor, causation_id, "
    f"hash, prev_hash, body, topic, :partition, :offset, seal FROM facts WHERE seq = {_LAST}"
)


@dataclass
class HeldLog:
    runtime: AsyncEngine
    owner: AsyncEngine
    facts: int  # the log's records that are facts, a fact published twice counted twice
    partition: int  # of intake's topic, where the transactions below went
    aborted: int  # the place of a record in an aborted transaction there
    tombstone: int  # the place of a record without a value there
    marker: int  # the place of the commit marker that ends that partition


async def _transactions(partition: int, other: int, fact: bytes) -> None:
    """On that partition of intake's topic: an aborted record, then a committed transaction
    holding two records that are no fact (parked live), one of them without a value, the
    fact published again and its id reused for other content; and the fact published once
    more on another partition. The live loop and a rebuild keep an id's first read."""
    reused = json.dumps({**json.loads(fact), "actor": "operator:someone-else"}).encode()
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.KAFKA, transactional_id=f"in-place-{uuid.uuid4().hex[:8]}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(INTAKE, fact, partition=other)
        await producer.begin_transaction()
        await producer.send_and_wait(INTAKE, b"aborted", partition=partition)
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(INTAKE, b"not a fact", partition=partition)
            await producer.send_and_wait(INTAKE, None, key=b"tombstone", partition=partition)
            await producer.send_and_wait(INTAKE, fact, partition=partition)
            await producer.send_and_wait(INTAKE, reused, partition=partition)
    finally:
        await producer.stop()


async def _first_intake_fact(ends: dict[str, int]) -> tuple[int, bytes]:
    intake = {key: end for key, end in ends.items() if key.startswith(f"{INTAKE}:")}
    async with log_reader.reading(infra.KAFKA, intake) as batches:
        async for batch in batches:
            for record in batch:
                if log_reader.fact_row(record) is not None and log_reader.decodes(record.value):
                    return record.partition, bytes(record.value)
    raise AssertionError("no fact on intake's topic")


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
    partition, fact = await _first_intake_fact(before)
    count = len(await kafka.partitions(infra.KAFKA, [INTAKE]))
    await _transactions(partition, (partition + 1) % count, fact)
    intake_end = (await infra.end_offsets([INTAKE]))[(INTAKE, partition)]
    url = await infra.fresh_database("t_in_place", AUDIT_MIGRATIONS)
    runtime, owner = create_async_engine(url), create_async_engine(infra.owner_url(url))
    try:
        _, _, ends = await replay.start(runtime, infra.KAFKA)
        assert ends[f"{INTAKE}:{partition}"] == intake_end
        facts = await _fill(runtime, ends)
        # aborted record, its marker, four committed records, their marker
        yield HeldLog(
            runtime, owner, facts, partition, aborted=intake_end - 7,
            tombstone=intake_end - 4, marker=intake_end - 1,
        )  # fmt: skip
    finally:
        await runtime.dispose()
        await owner.dispose()


async def _replay(engine: AsyncEngine) -> dict[str, Any]:
    replay_id, schema_name, ends = await replay.start(engine, infra.KAFKA)
    await replay.run(
        engine, infra.KAFKA, replay_id=replay_id, schema_name=schema_name, end_offsets=ends
    )
    async with engine.connect() as conn:
        finished = await store.get_replay(conn, replay_id)
    assert finished is not None
    return finished


async def test_a_live_store_holding_the_log_is_checked_in_place(held_log: HeldLog) -> None:
    finished = await _replay(held_log.runtime)

    assert finished["status"] == "equal", finished["report"]
    assert finished["report"]["rebuilt"] is False
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
    replay_id, schema_name, ends = await replay.start(held_log.runtime, infra.KAFKA)
    read = await replay.rebuild(held_log.runtime, infra.KAFKA, schema_name, ends, replay_id)
    checked = await in_place.holds_log(held_log.runtime, infra.KAFKA, ends, replay_id)
    assert read == checked == held_log.facts


EDITS = {
    "a row lost": f"DELETE FROM facts WHERE seq = {_LAST}",
    "another hash": f"UPDATE facts SET hash = repeat('e', 64) WHERE seq = {_LAST}",
    "moved to another partition": f"UPDATE facts SET partition = partition + 1 WHERE seq = {_LAST}",
    "moved later in its partition": f'UPDATE facts SET "offset" = :far WHERE seq = {_LAST}',
    "at an aborted record's place": _ADD_AT.replace(":offset", ":aborted"),
    "at the commit marker ending the partition": _ADD_AT.replace(":offset", ":marker"),
    "at a record without a value": _ADD_AT.replace(":offset", ":tombstone"),
}


@pytest.mark.parametrize("edit", EDITS)
async def test_a_live_store_that_differs_at_a_place_is_rebuilt(
    held_log: HeldLog, edit: str
) -> None:
    async with held_log.owner.begin() as conn:
        changed = await conn.execute(
            text(EDITS[edit]),
            {"topic": INTAKE, "partition": held_log.partition, "far": held_log.marker + 10**6,
             "aborted": held_log.aborted, "tombstone": held_log.tombstone,
             "marker": held_log.marker},
        )  # fmt: skip
        assert changed.rowcount == 1
    _, _, ends = await replay.start(held_log.runtime, infra.KAFKA)
    assert await in_place.holds_log(held_log.runtime, infra.KAFKA, ends, 0) is None

    finished = await _replay(held_log.runtime)
    assert finished["status"] == "different", finished["report"]
    assert finished["report"]["rebuilt"] is True
    assert finished["report"]["differing_appeals"] >= 1
