"""What the consume loop (shared.runtime.consumer) hands a service and takes from it: the
handler and hook types, a fact with where it was read, which faults it retries, the order
a fetch applies in, and where a record it cannot apply is parked."""

import heapq
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import envelope, events
from shared.runtime import schema
from shared.runtime.commands import StaleStreamError
from shared.runtime.eventstore import ConcurrencyError, Tx

Handler = Callable[[Any, Tx], Awaitable[None]]
Handlers = Mapping[type[events.Event], Handler]


@dataclass(frozen=True, slots=True)
class Delivery:
    """A decoded fact with where it was read from (for audit's own bookkeeping)."""

    fact: envelope.Recorded
    topic: str
    partition: int
    offset: int


FactHook = Callable[[Delivery, Tx], Awaitable[None]]
# Sees every record parked, with the reason, in the transaction that parks it (audit keeps
# forged and undecodable facts as integrity findings).
ParkHook = Callable[[Any, str, Tx], Awaitable[None]]
# `FactHook` as on_duplicate sees every fact whose id this group already applied (audit
# compares it with the one it holds: an id reused with other content is a rewrite).


class TransientError(Exception):
    """Raise from a handler for a fault worth retrying (the record is not parked)."""


def is_race(exc: BaseException) -> bool:
    """A lost race to append: a route wrote the same stream since the batch read it."""
    return isinstance(exc, ConcurrencyError | StaleStreamError)


# SQLSTATE classes of a database that cannot serve now but will (a parked record's effect
# would be lost): a connection's fault (08), a transaction rolled back for another's sake
# (40: a deadlock broken, a serialization failure), resources exhausted (53: too many
# clients, disk full), a server shutting down, crashed or still starting (57P01-57P03), and
# a standby reached just after a failover, before the connection moves (25006, read-only).
TRANSIENT_SQLSTATES = ("08", "40", "53", "57P01", "57P02", "57P03", "25006")
# A statement the connection prepared before a migration changed its table (an
# expand-then-contract migration runs while the old pods consume): asyncpg forgets it, and
# the same work succeeds when run again. Raised by the driver, or wrapped by SQLAlchemy.
_STALE_STATEMENTS = (
    asyncpg.InvalidCachedStatementError,
    asyncpg.exceptions.OutdatedSchemaCacheError,
)


def _stale_statement(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)  # SQLAlchemy's adapter raises it `from` the driver's
    causes = (exc, orig, getattr(orig, "__cause__", None))
    return any(isinstance(cause, _STALE_STATEMENTS) for cause in causes)


def _sqlstate(exc: BaseException) -> str:
    """The PostgreSQL error code, raised by the driver or wrapped by SQLAlchemy ('' if none)."""
    code = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code if isinstance(code, str) else ""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if _sqlstate(exc).startswith(TRANSIENT_SQLSTATES) or _stale_statement(exc):
        return True
    # A lost race to append (a route wrote the same stream since the batch read it): the
    # batch is decided again on the stream as it now is, never parked.
    return isinstance(
        exc,
        TransientError
        | ConcurrencyError
        | StaleStreamError
        | OperationalError
        | InterfaceError
        # The same faults from statements run on the driver itself (Tx.driver), which
        # SQLAlchemy would have wrapped as the two above: a connection lost or refused.
        | asyncpg.InterfaceError
        | asyncpg.PostgresConnectionError
        # PostgreSQL rolled the transaction back for another's sake (a deadlock it broke, a
        # serialization failure): the same work succeeds when run again.
        | asyncpg.TransactionRollbackError
        # No connection free in the pool within its wait: the database is busy, not wrong.
        | PoolTimeout
        | OSError
        | KafkaError
        | TimeoutError,
    )


def assigned_only(
    fetched: dict[TopicPartition, list[Any]], assigned: set[TopicPartition]
) -> dict[TopicPartition, list[Any]]:
    """The part of a fetch this member still owns: a partition revoked since the fetch is
    left to its new owner."""
    return {tp: records for tp, records in fetched.items() if tp in assigned and records}


def in_produced_order(batch: dict[TopicPartition, list[Any]]) -> list[Any]:
    """A fetch's records as one sequence, in the order they were produced (their record
    timestamps), each partition's own order kept. A fact's cause was produced before the
    fact, so a batch that holds both, in different topics, applies the cause first: audit
    numbers facts as they were caused, whatever order the fetch listed its partitions in."""
    return list(heapq.merge(*batch.values(), key=lambda record: record.timestamp))


async def park(
    conn: AsyncConnection,
    *,
    group: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    body: bytes | None,
    reason: str,
) -> None:
    await conn.execute(
        insert(schema.parked_messages)
        .values(
            consumer_group=group,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
            body=body,
            reason=reason[:4000],
        )
        .on_conflict_do_nothing()
    )
