"""The event store, inbox and idempotency records: all SQL the runtime runs per transaction.

One `Tx` is one PostgreSQL transaction. A command appends its events, the consume loop
records the inbox row, and a service's store module writes its read models, all through
`tx.conn`, so they commit or vanish together.
"""

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import envelope, events
from shared.runtime import held, schema, tracing

OUTBOX_CHANNEL = "hotline_outbox"
CHANGED_CHANNEL = "hotline_changed"  # payload: the changed stream ($9); shared.runtime.changes

# The append, written out once and run on the transaction's asyncpg connection (Tx.driver):
# SQLAlchemy Core built and compiled it per call, which was most of a filing's CPU. Arrays
# unnest to the rows, so one prepared statement serves any number of facts; $8 is the one
# traceparent of the append.
_INSERT_EVENTS = """
    INSERT INTO events (event_id, stream_id, version, type, body, hash, prev_hash, traceparent)
    SELECT e.*, $8::varchar FROM unnest(
        $1::uuid[], $2::uuid[], $3::int[], $4::varchar[], $5::text[], $6::varchar[],
        $7::varchar[]
    ) AS e"""
_APPEND = f"WITH appended AS ({_INSERT_EVENTS}) SELECT pg_notify('{CHANGED_CHANNEL}', $9)"
_APPEND_AND_NOTIFY = f"{_APPEND}, pg_notify('{OUTBOX_CHANNEL}', '')"
_NOTIFY_CHANGED = f"SELECT pg_notify('{CHANGED_CHANNEL}', id) FROM unnest($1::text[]) AS id"
_HASH_AT = "SELECT hash FROM events WHERE stream_id = $1 AND version = $2"
_LOAD = "SELECT body FROM events WHERE stream_id = $1 ORDER BY version"
State = TypeVar("State")


class ConcurrencyError(Exception):
    """Another writer appended to the stream first: the caller's expected version is stale."""

    def __init__(self, stream_id: UUID, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} is no longer at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


class EventStore(Protocol):
    """What a command needs of a transaction's event store. `Tx` is PostgreSQL's;
    `shared.runtime.memory.MemoryTx` keeps streams in memory for domain and command tests;
    one behaviour suite (tests/support/eventstore_suite.py) runs against both."""

    async def load(self, stream_id: UUID) -> list[envelope.Recorded]: ...

    async def version(self, stream_id: UUID) -> int: ...

    async def load_state(
        self, stream_id: UUID, evolve: Callable[[State, events.Event], State], initial: State
    ) -> tuple[State, int]: ...

    async def append(
        self,
        stream_id: UUID,
        new_events: Sequence[events.Event],
        *,
        expected_version: int,
        traceparent: str | None = None,
    ) -> int: ...

    async def first_delivery(self, group: str, event_id: UUID) -> bool: ...


class Tx:
    """One PostgreSQL transaction: the event store, the inbox, and `conn` for read models.

    `driver` is the same transaction's asyncpg connection, for the prebuilt statements of
    hot paths (an append, a filing's): SQLAlchemy's execution path costs about 200 µs of
    CPU per statement more than asyncpg's own, which prepares each text once per connection.
    """

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self.conn = conn
        self.driver = driver  # asyncpg.Connection, in the transaction `conn` runs in
        self._notified = False
        # Lookups that stand for the whole transaction, read once in it: e.g. the catalogue
        # version in force, which a consume batch would otherwise re-read per record.
        self.memo: dict[str, Any] = {}
        # stream -> (version, hash) of its head as this transaction read or wrote it
        self._heads: dict[UUID, tuple[int, str]] = {}
        # event id -> hash of each fact this transaction appended (a receipt names it)
        self.appended_hashes: dict[UUID, str] = {}
        self._held: list[tuple[str, tuple[Any, ...], held.Answer | None]] = []  # see `hold`

    def hold(self, statement: str, *args: Any) -> None:
        """Hold a write whose rows nothing reads before the commit: it goes as a CTE in the
        statement of the next append (or, with none, at the flush), so a command's facts
        and its read model cost one round trip, not one each (a filing's hot path). One
        statement must not touch a row twice: no two held writes may touch the same row,
        and a CTE cannot hold a WITH of its own."""
        self._held.append((statement, args, None))

    def hold_answered(self, statement: str, *args: Any) -> held.Answer:
        """As `hold`, for a write whose RETURNING gives one value (one row of one column)
        that the caller reads once the statement carrying it ran: what a filing's row found
        in the same statement (its repeat candidates), with no round trip of its own."""
        answer = held.Answer()
        self._held.append((statement, args, answer))
        return answer

    async def load(self, stream_id: UUID) -> list[envelope.Recorded]:
        rows = await self.driver.fetch(_LOAD, stream_id)
        return self.adopt(stream_id, [row[0] for row in rows])

    async def reload(self, stream_id: UUID) -> list[envelope.Recorded]:
        """The stream as committed now, for a caller that learnt it moved on since this
        transaction read it (a row lock that waited for another's commit). Tx's own load,
        which always reads: a subclass's may answer from what it read before."""
        return await Tx.load(self, stream_id)

    def adopt(self, stream_id: UUID, bodies: Sequence[str]) -> list[envelope.Recorded]:
        """The stream as `load` reads it, from its bodies in version order that a statement
        of this transaction read along with other rows (one round trip, not two)."""
        loaded = [envelope.decode(body.encode()) for body in bodies]
        if loaded:  # the head's hash, which an append after this load chains to
            self._heads[stream_id] = (loaded[-1].version, loaded[-1].hash)
        return loaded

    async def version(self, stream_id: UUID) -> int:
        """The stream's current version (0 for none): what an ETag names."""
        found = await self.conn.scalar(
            select(func.max(schema.events.c.version)).where(schema.events.c.stream_id == stream_id)
        )
        return int(found or 0)

    async def load_state(
        self, stream_id: UUID, evolve: Callable[[State, events.Event], State], initial: State
    ) -> tuple[State, int]:
        """Fold the stream through `evolve`; returns the state and the stream's version."""
        return envelope.fold(await self.load(stream_id), evolve, initial)

    async def append(
        self,
        stream_id: UUID,
        new_events: Sequence[events.Event],
        *,
        expected_version: int,
        traceparent: str | None = None,
    ) -> int:
        """Append after `expected_version`; raises ConcurrencyError if the stream moved on.

        Events carry the current span's context (tracing.traceparent) unless one is given.
        The unique (stream_id, version) key is the arbiter: of two writers holding the same
        expected version, the second insert fails whichever transaction started first.
        """
        traceparent = traceparent or tracing.traceparent()
        prev_hash = await self._hash_at(stream_id, expected_version)
        version = expected_version
        rows: list[tuple[Any, ...]] = []
        appended: list[envelope.Recorded] = []
        for event in new_events:
            version += 1
            recorded = envelope.encode(event, version=version, prev_hash=prev_hash)
            rows.append(
                (
                    event.id,
                    stream_id,
                    version,
                    event.type,
                    recorded.body.decode(),
                    recorded.hash,
                    prev_hash,
                )
            )
            prev_hash = recorded.hash
            appended.append(recorded)
            self.appended_hashes[event.id] = recorded.hash
        if not rows:
            return expected_version
        await self._insert(stream_id, expected_version, rows, appended, traceparent)
        self._heads[stream_id] = (version, prev_hash)
        return version

    async def _insert(
        self,
        stream_id: UUID,
        expected_version: int,
        rows: list[tuple[Any, ...]],
        recorded: list[envelope.Recorded],
        traceparent: str | None,
    ) -> None:
        del recorded  # a consume batch's transaction keeps them (shared.runtime.batch)
        # One prepared statement for any number of facts (the rows as arrays), carrying the
        # NOTIFY for waiting readers and, the transaction's first, the relay's (at commit).
        columns = tuple(zip(*rows, strict=True))
        statement, held_args, answers = self._carrying_held(
            _APPEND if self._notified else _APPEND_AND_NOTIFY
        )
        try:  # no savepoint: after a conflict the whole transaction must roll back anyway
            await self._run(statement, [*held_args, *columns, traceparent, str(stream_id)], answers)
        except asyncpg.UniqueViolationError as exc:
            if exc.table_name != "events":  # a held write's: not a lost race
                raise
            raise ConcurrencyError(stream_id, expected_version) from exc
        self._notified = True

    async def notify_changed(self, stream_ids: Sequence[UUID]) -> None:
        """Tell waiting readers, at the commit, that these appeals' resources changed."""
        if stream_ids:
            await self.driver.execute(_NOTIFY_CHANGED, [str(s) for s in set(stream_ids)])

    async def flush(self) -> None:
        """Write what was held back for the commit (a consume batch's BatchTx holds more)."""
        if self._held:
            await self._run(*self._carrying_held("SELECT 1"))

    def _carrying_held(self, statement: str) -> tuple[str, list[Any], list[held.Answer]]:
        """`statement` with the held inserts before it, their arguments, and the answers
        its last columns give; none held after."""
        pending, self._held = self._held, []
        answered = tuple(i for i, (*_, answer) in enumerate(pending) if answer is not None)
        text = held.with_held(tuple(each for each, *_ in pending), statement, answered)
        answers = [answer for *_, answer in pending if answer is not None]
        return text, [arg for _, args, _ in pending for arg in args], answers

    async def _run(self, statement: str, args: list[Any], answers: list[held.Answer]) -> None:
        if not answers:
            await self.driver.execute(statement, *args)
            return
        row = await self.driver.fetchrow(statement, *args)
        for answer, value in zip(answers, row[len(row) - len(answers) :], strict=True):
            answer.give(value)

    async def _hash_at(self, stream_id: UUID, version: int) -> str:
        if version == 0:
            return envelope.GENESIS_HASH
        if self._heads.get(stream_id, (None, None))[0] == version:
            return self._heads[stream_id][1]  # loaded or appended in this transaction
        found = await self.driver.fetchval(_HASH_AT, stream_id, version)
        if found is None:
            raise ConcurrencyError(stream_id, version)
        return str(found)

    async def first_delivery(self, group: str, event_id: UUID) -> bool:
        """Record the inbox row; False if this group already applied the event."""
        inserted = await self.conn.scalar(
            insert(schema.processed_events)
            .values(consumer_group=group, event_id=event_id)
            .on_conflict_do_nothing()
            .returning(schema.processed_events.c.event_id)
        )
        return inserted is not None
