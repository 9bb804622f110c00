"""Replay jobs, the fresh schema each rebuilds the projection into, and its bulk load."""

from collections.abc import Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import asyncpg
from sqlalchemy import Connection, UniqueConstraint, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from audit_service import sealing
from audit_service.domain import records, wire
from audit_service.store.facts import COPIED
from audit_service.store.tables import facts, projection, replays

# A copied row's values in the order a row seal takes them (domain/records.ROW_SEALED).
_ROW_SEALED = itemgetter(*(COPIED.index(column) for column in records.ROW_SEALED))
# What keeps the facts table's rows unique and found: built once over a loaded table, far
# cheaper than kept up to date row by row through a bulk load.
_UNIQUE = (facts.primary_key, *(c for c in facts.constraints if isinstance(c, UniqueConstraint)))


async def create_projection_schema(conn: AsyncConnection, schema_name: str) -> None:
    await conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
    await conn.run_sync(
        lambda sync: projection.create_all(
            sync.execution_options(schema_translate_map={None: schema_name})
        )
    )


def _in_schema(conn: Connection, schema_name: str) -> Connection:
    return conn.execution_options(schema_translate_map={None: schema_name})


async def begin_bulk_load(conn: AsyncConnection, schema_name: str) -> None:
    """The replay's facts table made ready for `copy_facts` in bulk: without its indexes
    and unique constraints (a fact published twice is then held twice until
    `end_bulk_load`). It stays logged: the WAL is written while the replay still reads,
    where setting it unlogged and back rewrote the whole table at the end."""

    def drop(sync: Connection) -> None:
        scoped = _in_schema(sync, schema_name)
        for index in facts.indexes:
            scoped.execute(DropIndex(index))
        for constraint in _UNIQUE:
            scoped.execute(DropConstraint(constraint))

    await conn.run_sync(drop)


async def end_bulk_load(conn: AsyncConnection, schema_name: str) -> None:
    """Back to the table `create_projection_schema` made: each fact once (the first read,
    as an insert that skips a fact present would keep), indexed."""

    def build(sync: Connection) -> None:
        scoped = _in_schema(sync, schema_name)
        for constraint in _UNIQUE:
            # Not isolated: the table's next CREATE (the next replay's schema) keeps it.
            scoped.execute(AddConstraint(constraint, isolate_from_table=False))
        for index in facts.indexes:
            scoped.execute(CreateIndex(index))

    # A fact is read twice only where a relay published it twice: building the primary key
    # first finds that, and only then is the table searched for the later copies.
    try:
        async with conn.begin_nested():
            await conn.run_sync(build)
    except IntegrityError:
        table = f'"{schema_name}".facts'
        await conn.execute(
            text(
                f"DELETE FROM {table} AS later USING {table} AS first "
                "WHERE later.event_id = first.event_id AND later.seq > first.seq"
            )
        )
        await conn.run_sync(build)


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


async def finish_replay(
    conn: AsyncConnection,
    replay_id: int,
    *,
    schema_name: str,
    end_offsets: dict[str, int],
    status: str,
    facts_read: int,
    report: dict[str, Any],
) -> None:
    """Record a replay's end, sealed (records.replay_seal) with the schema and end offsets
    the replay ran with, not as its row says them now, and the rows its table holds."""
    rows = await rebuilt_count(conn, schema_name)
    seal = records.replay_seal(
        sealing.key(), replay_id=replay_id, schema_name=schema_name, status=status,
        end_offsets=end_offsets, rows=rows,
    )  # fmt: skip
    await update_replay(
        conn, replay_id, status=status, facts_read=facts_read, finished_at=datetime.now(UTC),
        report=report, seal=seal,
    )  # fmt: skip


async def rebuilt_count(conn: AsyncConnection, schema_name: str) -> int:
    return int(await conn.scalar(text(f'SELECT count(*) FROM "{schema_name}".facts')) or 0)


async def get_replay(conn: AsyncConnection, replay_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(replays).where(replays.c.id == replay_id))).one_or_none()
    return None if row is None else dict(row._mapping)


async def copy_facts(
    conn: AsyncConnection, schema_name: str, rows: Sequence[wire.Columns], first_seq: int
) -> None:
    """Bulk insert for replays, rows in `wire.COLUMNS` order, numbered from `first_seq` in
    the order given (the replay's schema is its own: it numbers its facts itself) and sealed:
    a binary COPY straight into the replay's table. A batch holding a fact the table has
    already (a relay may have published one twice) is written again through a staging table
    and an INSERT that skips it."""
    if not rows:
        return
    now = datetime.now(UTC)
    seqs = range(first_seq, first_seq + len(rows))
    places = ((str(r[0]), r[8], r[11], r[12], r[13], n) for r, n in zip(rows, seqs, strict=True))
    key = sealing.key()
    seals = records.seals(key, places, now)
    unsealed = [(*row, now, n, seal) for row, n, seal in zip(rows, seqs, seals, strict=True)]
    row_seals = records.row_seals(key, map(_ROW_SEALED, unsealed))
    sealed = [(*row, seal) for row, seal in zip(unsealed, row_seals, strict=True)]
    # The replay's own table, which nobody reads before the replay finishes; a replay that
    # dies is started again into a fresh schema, so its commits need not wait for the WAL
    # flush. (Also begins the transaction the raw COPY below joins.)
    await conn.execute(text("SET LOCAL synchronous_commit = off"))
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    try:
        async with conn.begin_nested():
            await raw.copy_records_to_table(
                "facts", schema_name=schema_name, columns=COPIED, records=sealed
            )
    except asyncpg.UniqueViolationError:
        await conn.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS facts_staging "
                "(LIKE public.facts INCLUDING DEFAULTS INCLUDING IDENTITY) "
                "ON COMMIT DELETE ROWS"
            )
        )
        await raw.copy_records_to_table("facts_staging", columns=COPIED, records=sealed)
        columns = ", ".join(f'"{c}"' for c in COPIED)
        await conn.execute(
            text(
                f'INSERT INTO "{schema_name}".facts ({columns}) '
                f"SELECT {columns} FROM facts_staging ORDER BY seq "
                "ON CONFLICT (event_id) DO NOTHING"
            )
        )


async def live_places(
    conn: AsyncConnection, event_ids: Sequence[str]
) -> dict[str, tuple[str, int, int, str]]:
    """Where the live store holds each of these facts it holds, and its hash: (topic,
    partition, offset, hash) by event id (as a UUID string)."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    rows = await raw.fetch(
        'SELECT event_id::text, topic, partition, "offset", hash FROM public.facts '
        "WHERE event_id = ANY($1::uuid[])",
        list(event_ids),
    )
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
