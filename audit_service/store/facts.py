"""The facts audit recorded: written on ingest (a consume batch's in one statement), read one
appeal, one stream or one department's appeals at a time, or all of them streamed. A
replay's bulk load is in store/replays.py."""

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import sealing
from audit_service.domain import Fact, records, wire
from audit_service.store.tables import facts
from shared.runtime import bulk
from shared.runtime.batch import BatchTx
from shared.runtime.consumer import Delivery


def fact_row(delivery: Delivery) -> dict[str, Any]:
    event = delivery.fact.event
    return {
        "event_id": event.id,
        "source": delivery.fact.source,
        "type": event.type,
        "subject": event.subject,
        "version": delivery.fact.version,
        "time": event.time,
        "actor": event.actor,
        "causation_id": event.causation_id,
        "hash": delivery.fact.hash,
        "prev_hash": delivery.fact.prev_hash,
        "body": delivery.fact.body.decode(),
        "topic": delivery.topic,
        "partition": delivery.partition,
        "offset": delivery.offset,
    }


def fact_columns(delivery: Delivery) -> wire.Columns:
    """A delivered fact's row as `copy_facts` takes it (`wire.COLUMNS` order)."""
    row = fact_row(delivery)
    cause = row["causation_id"]
    return (
        str(row["event_id"]), row["source"], row["type"], str(row["subject"]), row["version"],
        row["time"], row["actor"], None if cause is None else str(cause), row["hash"],
        row["prev_hash"], row["body"], row["topic"], row["partition"], row["offset"],
    )  # fmt: skip


async def _sealed(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], schema_name: str | None = None
) -> list[dict[str, Any]]:
    """The rows with their record time, place in recorded order and audit's seals: over
    both (`seal`), and over the whole row (`row_seal`). Sealed before they are written,
    since nobody may update a fact afterwards."""
    table = "facts" if schema_name is None else f'"{schema_name}".facts'
    # The insert's own lock, taken before the seq is drawn: a checkpoint's SHARE lock
    # (store/checkpoints.py) then waits for this transaction, so no seq below the settled
    # one can still commit after it.
    await conn.execute(text(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE"))
    numbers = sorted(
        await conn.scalars(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'seq')) "
                 "FROM generate_series(1, :n)"),
            {"n": len(rows)},
        )
    )  # fmt: skip
    now, key = datetime.now(UTC), sealing.key()
    sealed = []
    for row, seq in zip(rows, numbers, strict=True):
        own = {**row, "ingested_at": now, "seq": int(seq)}
        fields = ("event_id", "hash", "topic", "partition", "offset", "ingested_at", "seq")
        own["seal"] = records.seal(key, **{name: own[name] for name in fields})
        sealed.append(own)
    records.add_row_seals(key, sealed)
    return sealed


async def seal_fresh(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows recorded again now, at the end of the live store (a replay's switch-over)."""
    return await _sealed(conn, rows) if rows else []


async def add_facts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(
            insert(facts).on_conflict_do_nothing(index_elements=["event_id"]),
            await _sealed(conn, rows),
        )


COPIED = tuple(c.name for c in facts.columns if c.computed is None)  # PostgreSQL writes those
assert (*wire.COLUMNS, "ingested_at", "seq", "seal", "row_seal") == COPIED
_HELD = "audit.facts"  # a consume batch's rows, held to its flush (BatchTx.later)
_ADD_SEALED = text(bulk.insert_rows(facts, COPIED, on_conflict="ON CONFLICT (event_id) DO NOTHING"))


def hold_fact(tx: BatchTx, row: dict[str, Any]) -> None:
    """Record the fact at the batch's flush: its rows sealed and numbered (seq) in the
    order they were held, and written in one statement, in the batch's transaction."""
    tx.later(_HELD, _add_sealed, row["event_id"], row)


async def _add_sealed(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_ADD_SEALED, {"rows": bulk.json_rows(await _sealed(conn, rows))})


def held_hash(tx: BatchTx, event_id: UUID) -> str | None:
    """The hash of a fact this batch holds for its flush (None: none held)."""
    held = tx.pending(_HELD, event_id)
    return None if held is None else str(held["hash"])


def _to_fact(row: Any) -> Fact:
    """What the row's bytes hold, checked against its columns and seal."""
    return records.from_row(row._mapping, sealing.key())


def delivered(delivery: Delivery) -> Fact:
    """The fact as just read from Kafka (its bytes decoded and hashed by the consumer)."""
    recorded, event = delivery.fact, delivery.fact.event
    return Fact(
        event.id, recorded.source, event.type, event.subject, recorded.version, event.time,
        event.actor, event.causation_id, recorded.hash, recorded.prev_hash,
        recorded.body.decode(),
    )  # fmt: skip


async def appeal_facts(
    conn: AsyncConnection, appeal_id: UUID, known_at: datetime | None = None
) -> list[tuple[Fact, datetime]]:
    query = select(facts).where(facts.c.subject == appeal_id)
    if known_at is not None:
        query = query.where(facts.c.ingested_at <= known_at)
    rows = await conn.execute(query)
    return [(_to_fact(row), row.ingested_at) for row in rows]


# ... or asked it to assist the holder (an ask's `department` is the assisting department)
GIVEN = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered", "appeal.assist_requested")


async def appeals_given_to(conn: AsyncConnection, department: str, by: datetime) -> list[UUID]:
    """Appeals whose facts recorded by `by` gave them to `department` at least once, or
    asked it to assist."""
    rows = await conn.execute(
        select(facts.c.subject)
        .where(
            facts.c.type.in_(GIVEN),
            facts.c.ingested_at <= by,
            func.cast(facts.c.body, JSONB)["data"]["department"].astext == department,
        )
        .distinct()
    )
    return [row.subject for row in rows]


_CHUNK = 1000


async def facts_by_appeal(
    conn: AsyncConnection,
    end_offsets: dict[str, int] | None,
    *,
    active_between: tuple[datetime, datetime] | None = None,
    known_by: datetime | None = None,
) -> AsyncIterator[tuple[UUID, list[Fact]]]:
    """Every appeal's facts, one appeal at a time (streamed: memory stays bounded).

    With `end_offsets` ("topic:partition" → end), only facts read below those positions.
    With `active_between`, only appeals with a fact that happened in that interval (all of
    their facts): what a month's measures need, without reading all of history. With
    `known_by`, only facts audit had recorded by then (a paged answer's every page alike).
    """
    query = select(facts)
    if known_by is not None:
        query = query.where(facts.c.ingested_at <= known_by)
    if active_between is not None:
        start, end = active_between
        active = select(facts.c.subject).where(facts.c.time >= start, facts.c.time < end)
        query = query.where(facts.c.subject.in_(active))
    result = await conn.stream(query.order_by(facts.c.subject, facts.c.event_id))
    current: UUID | None = None
    batch: list[Fact] = []
    # Rows a chunk at a time: each fetch from the async result is a switch into
    # SQLAlchemy's greenlet, which row by row cost a replay's comparison a fifth of its time.
    async for rows in result.partitions(_CHUNK):
        for row in rows:
            if end_offsets is not None and row.offset >= end_offsets.get(
                f"{row.topic}:{row.partition}", 0
            ):
                continue
            if row.subject != current and batch:
                assert current is not None
                yield current, batch
                batch = []
            current = row.subject
            batch.append(_to_fact(row))
    if batch and current is not None:
        yield current, batch


async def stream_facts(conn: AsyncConnection, subject: UUID, source: str) -> list[Fact]:
    rows = await conn.execute(
        select(facts).where(facts.c.subject == subject, facts.c.source == source)
    )
    return [_to_fact(row) for row in rows]


_STREAMS_OF = text(
    "SELECT * FROM facts WHERE subject = ANY(CAST(:subjects AS uuid[])) ORDER BY seq"
)


async def streams_facts(
    conn: AsyncConnection, streams: Iterable[tuple[UUID, str]]
) -> dict[tuple[UUID, str], list[Fact]]:
    """`stream_facts` of many (subject, source) streams in one statement."""
    wanted = set(streams)
    found: dict[tuple[UUID, str], list[Fact]] = {stream: [] for stream in wanted}
    subjects = sorted({subject for subject, _ in wanted})
    for row in await conn.execute(_STREAMS_OF, {"subjects": subjects}):
        if (key := (row.subject, row.source)) in found:
            found[key].append(_to_fact(row))
    return found


async def fact_hash(conn: AsyncConnection, event_id: UUID) -> str | None:
    hash_: str | None = await conn.scalar(select(facts.c.hash).where(facts.c.event_id == event_id))
    return hash_


async def appeals_of(conn: AsyncConnection, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    """Which appeal each fact is about."""
    if not event_ids:
        return {}
    rows = await conn.execute(
        select(facts.c.event_id, facts.c.subject).where(facts.c.event_id.in_(list(event_ids)))
    )
    return {row.event_id: row.subject for row in rows}


async def recorded_facts(engine: AsyncEngine, batch: int = 1000) -> AsyncIterator[Any]:
    """Every recorded fact's row in recorded order, from a server-side cursor (exports)."""
    async with engine.connect() as conn:
        result = await conn.stream(
            select(facts).order_by(facts.c.seq).execution_options(yield_per=batch)
        )
        async for row in result:
            yield row


async def count_facts(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(facts)) or 0)
