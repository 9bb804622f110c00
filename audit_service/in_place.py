"""A replay's first pass: the live store checked against the log in place, with nothing
copied. A rebuild (replay.rebuild) stores every fact again, which on this kind of machine
costs more than reading the log many times over; when the live store holds exactly the
log's facts there is nothing to rebuild, and this pass proves that far more cheaply.

Each record up to the end offsets is set against the live row read at its place (topic,
partition, offset): the row's hash must be the SHA-256 of the record's bytes. The records'
hashes go to PostgreSQL a batch at a time, and only where the rows differ comes back. A
record with no row there must be one the live loop parked (not a fact) or one repeating the
event id of a fact held at another place (`_held_elsewhere`); and no live row may sit at a
place where the log has no such record. The first difference ends the pass: the replay then
rebuilds (replay.run).

What this pass cannot see, a live row whose hash is right but whose other columns, bytes or
seal were edited, the checks that run beside it do (live_checks.py), and a row that fails
them makes the replay rebuild too.
"""

import asyncio
import hashlib
import itertools
import logging
import operator
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import log_reader, store
from audit_service.domain import wire

log = logging.getLogger("hotline.audit.replay")
FIRST = -(2**63)  # a range from here takes in a live row at any offset below the log's
_partition_of = operator.attrgetter("topic", "partition")


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
    conn: Any,
    engine: AsyncEngine,
    bootstrap: str,
    end_offsets: dict[str, int],
    replay_id: int,
) -> Held | None:
    """What the live store holds of the log below the end offsets, if it holds each fact
    at its place and nothing else there; None at the first difference. `conn` reads the
    live store (in a snapshot: store.one_snapshot); progress is recorded through `engine`.

    One batch's records are hashed while the batch before is looked up: the lookups wait
    for a database that other checks keep busy (live_checks.py)."""
    # Per partition, the lowest offset not yet set against the live store: each batch's
    # range starts there, so a place between two batches (a transaction marker) is
    # looked at too.
    checked_to: dict[TopicPartition, int] = {}
    ends = {log_reader.partition(k): end for k, end in end_offsets.items() if end > 0}
    held, progress = Held(), _Progress(engine, replay_id)
    looking: asyncio.Task[None] | None = None
    try:
        async with log_reader.reading(bootstrap, end_offsets) as batches:
            async for batch in batches:
                if not batch:  # a fetch that found only records past the end offsets
                    continue
                groups = _groups(batch, checked_to)
                if looking is not None:
                    await looking
                looking = asyncio.create_task(_looked_up(conn, engine, batch, groups, ends, held))
                await progress.record(held.facts)
        if looking is not None:
            await looking
        tails = [
            (tp.topic, tp.partition, checked_to.get(tp, FIRST), end - 1) for tp, end in ends.items()
        ]
        if tails and await store.live_in(conn, tails):
            raise _Differs("a live fact at a place past the log's last record")
    except _Differs as difference:
        log.info("live store differs from the log: rebuilding", extra={"reason": str(difference)})
        return None
    finally:
        if looking is not None and not looking.done():
            looking.cancel()
            await asyncio.gather(looking, return_exceptions=True)
    return held


class _Progress:
    """A replay's `facts_read`, recorded at most once a second: each is a transaction."""

    def __init__(self, engine: AsyncEngine, replay_id: int) -> None:
        self._engine, self._replay_id, self._last = engine, replay_id, time.monotonic()

    async def record(self, facts: int) -> None:
        if time.monotonic() - self._last >= 1.0:
            async with self._engine.begin() as conn:
                await store.update_replay(conn, self._replay_id, facts_read=facts)
            self._last = time.monotonic()


def _groups(batch: list[Any], checked_to: dict[TopicPartition, int]) -> list[store.Group]:
    """The batch's records a group per partition, each with the range of offsets to look at
    (from where the batch before left off); `checked_to` moved past them."""
    groups: list[store.Group] = []
    first = 0
    for (topic, partition), run in itertools.groupby(batch, _partition_of):
        records = list(run)  # one partition's, in offset order
        tp, highest = TopicPartition(topic, partition), records[-1].offset
        offsets = ",".join([str(r.offset) for r in records])
        # A tombstone's value is None.
        hashes = ",".join([hashlib.sha256(r.value or b"").hexdigest() for r in records])
        groups.append(
            (topic, partition, offsets, hashes, first, checked_to.get(tp, FIRST), highest)
        )
        checked_to[tp] = highest + 1
        first += len(records)
    return groups


async def _looked_up(
    conn: Any,
    engine: AsyncEngine,
    batch: list[Any],
    groups: list[store.Group],
    ends: dict[TopicPartition, int],
    held: Held,
) -> None:
    rows, differing = await store.against_log(conn, groups)
    elsewhere = []
    for n, hash in differing:
        if n is None:
            raise _Differs("a live fact at a place where the log holds none")
        if hash is not None:
            record = batch[n]
            raise _Differs(f"{record.topic}:{record.partition}@{record.offset}: another fact")
        elsewhere.append(batch[n])
    matched = len(batch) - len(elsewhere)
    if rows != matched:
        raise _Differs("two live facts at one place")
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
