"""Read your own writes across services: how far a service's read models have followed
another service's stream, and a bounded wait for a position a caller has already seen.

A caller that just changed a work order at dispatch (signed for it, had it handed over) holds
the work order's version (dispatch's ETag) and passes it to feedback or intake in the header
`X-Work-Order-Version`. The consume loop records, in the transaction that applies a fact,
the highest version of each stream it has applied (`record`, a consume-loop fact hook), so
"applied up to N" means every read model built from facts up to N is committed. A route that
is behind waits briefly for it (`caught_up`) and otherwise answers 409 with Retry-After
(`behind`): never an answer computed from a view older than what the caller already saw.
"""

import asyncio
import time
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import Header
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime import bulk
from shared.runtime.batch import BatchTx
from shared.runtime.consumer import Delivery
from shared.runtime.database import Database
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem
from shared.runtime.schema import NAMING_CONVENTION

HEADER: Final = "X-Work-Order-Version"
WAIT_SECONDS: Final = 2.0
POLL_SECONDS: Final = 0.05
RETRY_AFTER_SECONDS: Final = 1

metadata = MetaData(naming_convention=NAMING_CONVENTION)
stream_positions = Table(
    "stream_positions",
    metadata,
    Column("source", String(30), nullable=False),  # the owning service of the stream
    Column("stream_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),  # the highest version applied here
    PrimaryKeyConstraint("source", "stream_id"),
)

SeenVersion = Annotated[
    int | None,
    Header(
        alias=HEADER,
        ge=1,
        le=2_147_483_647,
        description=(
            "The work order's version the caller has seen (the number in dispatch's ETag, "
            'e.g. 5 for ETag "5"). This service answers only once its view has followed '
            "dispatch up to that version: it waits up to 2 s, then answers 409 with "
            "Retry-After."
        ),
    ),
]


def create_table(op: Any) -> None:
    """Called from a service's migration (op is alembic.op)."""
    metadata.create_all(op.get_bind())


_HELD = "stream_positions"  # a consume batch's positions, held to its flush (BatchTx.later)
_ADVANCE_ALL = text(
    bulk.insert_rows(
        stream_positions,
        ("source", "stream_id", "version"),
        on_conflict='ON CONFLICT ("source", "stream_id") DO UPDATE SET "version" = '
        'EXCLUDED."version" WHERE "stream_positions"."version" < EXCLUDED."version"',
    )
)


async def _advance_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_ADVANCE_ALL, {"rows": bulk.json_rows(rows)})


async def record(delivery: Delivery, tx: Tx) -> None:
    """A consume-loop fact hook: the stream's applied position moves up to this fact's
    (a consume batch's, the highest of each stream, in one statement at its flush)."""
    fact = delivery.fact
    if isinstance(tx, BatchTx):
        key = (fact.source, fact.event.subject)
        held = tx.pending(_HELD, key)
        if held is None or held["version"] < fact.version:
            row = {"source": fact.source, "stream_id": fact.event.subject, "version": fact.version}
            tx.later(_HELD, _advance_all, key, row, carried=_ADVANCE_ALL.text)
        return
    statement = insert(stream_positions).values(
        source=fact.source, stream_id=fact.event.subject, version=fact.version
    )
    await tx.conn.execute(
        statement.on_conflict_do_update(
            index_elements=["source", "stream_id"],
            set_={"version": statement.excluded.version},
            where=stream_positions.c.version < statement.excluded.version,
        )
    )


async def applied(tx: Tx, source: str, stream_id: UUID) -> int:
    found = await tx.conn.scalar(
        select(stream_positions.c.version).where(
            stream_positions.c.source == source, stream_positions.c.stream_id == stream_id
        )
    )
    return int(found or 0)


async def caught_up(
    db: Database, source: str, stream_id: UUID, seen: int | None, *, wait: float = WAIT_SECONDS
) -> int | None:
    """None when there is nothing to wait for or the view has reached `seen` (within `wait`
    seconds); otherwise the version it has reached."""
    if seen is None:
        return None
    deadline = time.monotonic() + wait
    while True:
        async with db.transaction() as tx:
            reached = await applied(tx, source, stream_id)
        if reached >= seen:
            return None
        if time.monotonic() >= deadline:
            return reached
        await asyncio.sleep(POLL_SECONDS)


def behind(what: str, reached: int, seen: int) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"this service has followed the {what} up to version {reached}, not yet to version "
        f"{seen} that you have seen: retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        applied_version=reached,
        seen_version=seen,
    )


async def await_seen(db: Database, source: str, stream_id: UUID, seen: int | None) -> None:
    """Wait for the view to follow `source`'s stream to `seen`, or raise the 409."""
    reached = await caught_up(db, source, stream_id, seen)
    if reached is not None and seen is not None:
        raise behind("work order" if source == "dispatch" else f"{source} stream", reached, seen)
