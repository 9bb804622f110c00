"""A replay's first pass: the live store checked against the log in place, with nothing
copied. A rebuild (replay.rebuild) stores every fact again, which on this kind of machine
costs more than reading the log many times over; when the live store holds exactly the
log's facts there is nothing to rebuild, and this pass proves that far more cheaply.

Each record up to the end offsets is set against the live row read at its place (topic,
partition, offset): the row's hash must be the SHA-256 of the record's bytes. A record with
no row there must be one the live loop parked (not a fact) or one repeating the event id of
a fact held at another place (`_held_elsewhere`); and no live row may sit at a place where
the log has no such record. The first difference ends the pass: the replay then rebuilds
(replay.run).

What this pass cannot see, a live row whose hash is right but whose other columns, bytes or
seal were edited, the comparison that follows does (comparison.compare_in_place): it checks
every live row against its bytes and audit's seal, as it checks a rebuilt one, and a row
that fails makes the replay rebuild too.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import log_reader, store
from audit_service.domain import wire

log = logging.getLogger("hotline.audit.replay")
FIRST = -(2**63)  # a range from here takes in a live row at any offset below the log's


@dataclass
class Held:
    """What a check in place found the live store holding: the log's records that are
    facts (a fact published twice counted twice, as a rebuild reads it), and the live rows
    that matched a record at their place (each fact once)."""

    facts: int = 0
    rows: int = 0


class _Differs(Exception):
    """The live store does not hold what the log does at some place."""


async def holds_log(
    engine: AsyncEngine, bootstrap: str, end_offsets: dict[str, int], replay_id: int
) -> Held | None:
    """What the live store holds of the log below the end offsets, if it holds each fact
    at its place and nothing else there; None at the first difference."""
    # Per partition, the lowest offset not yet set against the live store: each batch's
    # range starts there, so a place between two batches (a transaction marker) is
    # looked at too.
    checked_to: dict[TopicPartition, int] = {}
    ends = {log_reader.partition(k): end for k, end in end_offsets.items() if end > 0}
    held = Held()
    try:
        async with log_reader.reading(bootstrap, end_offsets) as batches:
            async for batch in batches:
                if not batch:  # a fetch that found only records past the end offsets
                    continue
                await _batch_held(engine, batch, checked_to, ends, held)
                async with engine.begin() as conn:
                    await store.update_replay(conn, replay_id, facts_read=held.facts)
        tails = [(tp, checked_to.get(tp, FIRST), end - 1) for tp, end in ends.items()]
        if await _live_in(engine, tails):
            raise _Differs("a live fact at a place past the log's last record")
    except _Differs as difference:
        log.info("live store differs from the log: rebuilding", extra={"reason": str(difference)})
        return None
    return held


async def _live_in(
    engine: AsyncEngine, ranges: list[tuple[TopicPartition, int, int]]
) -> list[tuple[int, int, str]]:
    if not ranges:
        return []
    async with engine.connect() as conn:
        return await store.live_at(
            conn, [(tp.topic, tp.partition, low, high) for tp, low, high in ranges]
        )


async def _batch_held(
    engine: AsyncEngine,
    batch: list[Any],
    checked_to: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    held: Held,
) -> None:
    highest: dict[TopicPartition, int] = {}
    for record in batch:
        tp = TopicPartition(record.topic, record.partition)
        highest[tp] = max(highest.get(tp, -1), record.offset)
    ranges = [(tp, checked_to.get(tp, FIRST), high) for tp, high in highest.items()]
    found = await _live_in(engine, ranges)
    live = {(ranges[n][0], offset): hash for n, offset, hash in found}
    if len(live) != len(found):
        raise _Differs("two live facts at one place")
    checked_to.update((tp, high + 1) for tp, high in highest.items())
    elsewhere, matched = [], 0
    for record in batch:
        hash = live.pop((TopicPartition(record.topic, record.partition), record.offset), None)
        if hash is None:
            elsewhere.append(record)
        elif hash != hashlib.sha256(record.value or b"").hexdigest():  # None: a tombstone
            raise _Differs(f"{record.topic}:{record.partition}@{record.offset}: another fact")
        else:
            matched += 1
    if live:
        raise _Differs("a live fact at a place where the log holds none")
    held.rows += matched
    held.facts += matched + await _held_elsewhere(engine, elsewhere, ends)


async def _held_elsewhere(
    engine: AsyncEngine, records: list[Any], ends: dict[TopicPartition, int]
) -> int:
    """Of records with no live row at their place, those that are facts (the rest the live
    loop parked). Each must repeat an event id the live store holds at another place the
    log covers, whose record this pass sets against that row like any other: the live loop
    and a rebuild both keep an id's first read. Earlier in the same partition that is the
    first read whatever the content (a fact published twice, or its id reused); in another
    partition, which was read first depends on the reading, so only the same bytes pass."""
    facts = [
        row
        for record in records
        if (row := log_reader.fact_row(record)) is not None and log_reader.decodes(record.value)
    ]
    if not facts:
        return 0
    async with engine.connect() as conn:
        live = await store.live_places(conn, [row[0] for row in facts])
    for row in facts:
        if not held_first(live.get(row[0]), row, ends):
            raise _Differs(f"{row[11]}:{row[12]}@{row[13]}: a fact the live store lacks")
    return len(facts)


def held_first(
    live: tuple[str, int, int, str] | None, row: wire.Columns, ends: dict[TopicPartition, int]
) -> bool:
    """Whether the live row of the record's event id, (topic, partition, offset, hash) or
    None, is the one both the live loop and a rebuild keep for the record's fact: at a
    place the log covers, earlier in the record's partition, or with the same bytes in
    another partition (which of two partitions is read first depends on the reading)."""
    if live is None:
        return False
    topic, partition, offset, hash = live
    held_at = TopicPartition(topic, partition)
    same_partition = held_at == TopicPartition(row[11], row[12])
    first = offset < row[13] if same_partition else hash == row[8]
    return first and offset < ends.get(held_at, 0)
