"""audit's tables: every fact received, and the replay jobs.

The facts table lives in the `public` schema for the live projection; a replay rebuilds into
a fresh schema through SQLAlchemy's schema_translate_map, so the same code serves both.
"""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service import domain
from shared.runtime import metrics
from shared.runtime.consumer import Delivery
from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)
projection = MetaData(naming_convention=NAMING_CONVENTION)  # the part a replay rebuilds

facts = Table(
    "facts",
    projection,
    Column("event_id", Uuid, primary_key=True),
    Column("source", String(50), nullable=False),
    Column("type", String(100), nullable=False),
    Column("subject", Uuid, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False, index=True),  # a month's appeals
    Column("actor", String(200), nullable=False),
    Column("causation_id", Uuid),
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The order audit recorded facts in: the Merkle tree's leaf order (see checkpoints.py).
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
)

replays = Table(
    "replays",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("schema_name", String(63), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("end_offsets", JSONB, nullable=False),
    Column("facts_read", BigInteger, nullable=False, server_default="0"),
    Column("report", JSONB),
    schema="public",  # fixed: a replay's schema_translate_map must never move this table
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True),  # the first `size` facts in seq order
    Column("root", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="public",
)

findings = Table(
    "findings",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("appeal_id", Uuid, index=True),
    Column("event_id", Uuid),
    Column("source", String(50)),
    Column("type", String(100)),
    Column("version", Integer),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Column("found_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("kind", "topic", "partition", "offset", name="uq_findings_position"),
    schema="public",
)


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


async def add_facts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(
            insert(facts).on_conflict_do_nothing(index_elements=["event_id"]), list(rows)
        )


_COPIED = [c.name for c in facts.columns if c.name not in ("ingested_at", "seq")]


async def copy_facts(
    conn: AsyncConnection, schema_name: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Bulk insert for replays: COPY into a session-local staging table, then one INSERT that
    skips facts already present (a relay may have published one twice)."""
    if not rows:
        return
    columns = ", ".join(f'"{c}"' for c in _COPIED)
    await conn.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS facts_staging "
            "(LIKE public.facts INCLUDING DEFAULTS INCLUDING IDENTITY) "
            "ON COMMIT DELETE ROWS"
        )
    )
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(
        "facts_staging", columns=_COPIED, records=[tuple(r[c] for c in _COPIED) for r in rows]
    )
    await conn.execute(
        text(
            f'INSERT INTO "{schema_name}".facts ({columns}) SELECT {columns} FROM facts_staging '
            "ON CONFLICT (event_id) DO NOTHING"
        )
    )


def _to_fact(row: Any) -> domain.Fact:
    return domain.Fact(
        row.event_id,
        row.source,
        row.type,
        row.subject,
        row.version,
        row.time,
        row.actor,
        row.causation_id,
        row.hash,
        row.prev_hash,
        row.body,
    )


def to_fact(row: dict[str, Any]) -> domain.Fact:
    """A fact from a row as fact_row() builds it."""
    return domain.Fact(*(row[name] for name in domain.Fact.__slots__))


async def appeal_facts(
    conn: AsyncConnection, appeal_id: UUID, known_at: datetime | None = None
) -> list[tuple[domain.Fact, datetime]]:
    query = select(facts).where(facts.c.subject == appeal_id)
    if known_at is not None:
        query = query.where(facts.c.ingested_at <= known_at)
    rows = await conn.execute(query)
    return [(_to_fact(row), row.ingested_at) for row in rows]


GIVEN = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered")


async def appeals_given_to(conn: AsyncConnection, department: str, by: datetime) -> list[UUID]:
    """Appeals whose facts recorded by `by` gave them to `department` at least once."""
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


async def facts_by_appeal(
    conn: AsyncConnection,
    end_offsets: dict[str, int] | None,
    *,
    active_between: tuple[datetime, datetime] | None = None,
) -> AsyncIterator[tuple[UUID, list[domain.Fact]]]:
    """Every appeal's facts, one appeal at a time (streamed: memory stays bounded).

    With `end_offsets` ("topic:partition" → end), only facts read below those positions.
    With `active_between`, only appeals with a fact that happened in that interval (all of
    their facts): what a month's measures need, without reading all of history.
    """
    query = select(facts)
    if active_between is not None:
        start, end = active_between
        active = select(facts.c.subject).where(facts.c.time >= start, facts.c.time < end)
        query = query.where(facts.c.subject.in_(active))
    result = await conn.stream(query.order_by(facts.c.subject, facts.c.event_id))
    current: UUID | None = None
    batch: list[domain.Fact] = []
    async for row in result:
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


async def create_projection_schema(conn: AsyncConnection, schema_name: str) -> None:
    await conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    await conn.run_sync(
        lambda sync: projection.create_all(
            sync.execution_options(schema_translate_map={None: schema_name})
        )
    )


async def new_replay(conn: AsyncConnection, end_offsets: dict[str, int]) -> tuple[int, str]:
    replay_id = await conn.scalar(
        replays.insert()
        .values(schema_name="pending", status="running", end_offsets=end_offsets)
        .returning(replays.c.id)
    )
    assert replay_id is not None
    schema_name = f"replay_{replay_id}"
    await conn.execute(
        update(replays).where(replays.c.id == replay_id).values(schema_name=schema_name)
    )
    return int(replay_id), schema_name


async def update_replay(conn: AsyncConnection, replay_id: int, **values: Any) -> None:
    await conn.execute(update(replays).where(replays.c.id == replay_id).values(**values))


async def get_replay(conn: AsyncConnection, replay_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(replays).where(replays.c.id == replay_id))).one_or_none()
    return None if row is None else dict(row._mapping)


async def settled_size(conn: AsyncConnection) -> int:
    """How many facts are final in seq order: no transaction still inserting can later fill
    a gap below this. SHARE mode waits for every ingesting transaction (they hold ROW
    EXCLUSIVE) and holds new ones off only until this transaction commits."""
    await conn.execute(text("LOCK TABLE public.facts IN SHARE MODE"))
    return int(await conn.scalar(select(func.count()).select_from(facts)) or 0)


async def leaf_hashes(conn: AsyncConnection, size: int) -> list[str]:
    rows = await conn.stream(select(facts.c.hash).order_by(facts.c.seq).limit(size))
    return [row.hash async for row in rows]


async def position(conn: AsyncConnection, event_id: UUID) -> tuple[int, str] | None:
    """A fact's leaf index (0-based, in seq order) and hash."""
    found = (
        await conn.execute(select(facts.c.seq, facts.c.hash).where(facts.c.event_id == event_id))
    ).one_or_none()
    if found is None:
        return None
    before = await conn.scalar(
        select(func.count()).select_from(facts).where(facts.c.seq < found.seq)
    )
    return int(before or 0), found.hash


async def save_checkpoint(conn: AsyncConnection, size: int, root: str) -> None:
    await conn.execute(
        insert(checkpoints)
        .values(size=size, root=root)
        .on_conflict_do_nothing(index_elements=["size"])
    )


async def list_checkpoints(conn: AsyncConnection, limit: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(checkpoints).order_by(checkpoints.c.size.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def get_checkpoint(conn: AsyncConnection, size: int | None) -> dict[str, Any] | None:
    query = select(checkpoints)
    query = (
        query.where(checkpoints.c.size == size)
        if size is not None
        else query.order_by(checkpoints.c.size.desc()).limit(1)
    )
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else dict(row._mapping)


async def stream_facts(conn: AsyncConnection, subject: UUID, source: str) -> list[domain.Fact]:
    rows = await conn.execute(
        select(facts).where(facts.c.subject == subject, facts.c.source == source)
    )
    return [_to_fact(row) for row in rows]


async def fact_hash(conn: AsyncConnection, event_id: UUID) -> str | None:
    hash_: str | None = await conn.scalar(select(facts.c.hash).where(facts.c.event_id == event_id))
    return hash_


async def add_findings(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Record findings; the same kind at the same position is recorded once (redelivery)."""
    if rows:
        added = await conn.execute(
            insert(findings)
            .on_conflict_do_nothing(constraint="uq_findings_position")
            .returning(findings.c.kind),
            list(rows),
        )
        for kind in added.scalars():  # only those recorded now, not a redelivery's
            metrics.AUDIT_FINDINGS.labels("audit", kind).inc()


async def list_findings(
    conn: AsyncConnection,
    *,
    kind: str | None = None,
    appeal_id: UUID | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = select(findings).where(findings.c.id > after).order_by(findings.c.id).limit(limit)
    if kind is not None:
        query = query.where(findings.c.kind == kind)
    if appeal_id is not None:
        query = query.where(findings.c.appeal_id == appeal_id)
    return [dict(r._mapping) for r in await conn.execute(query)]


async def appeals_of(conn: AsyncConnection, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    """Which appeal each fact is about."""
    if not event_ids:
        return {}
    rows = await conn.execute(
        select(facts.c.event_id, facts.c.subject).where(facts.c.event_id.in_(list(event_ids)))
    )
    return {row.event_id: row.subject for row in rows}
