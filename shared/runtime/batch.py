"""A consume batch's transaction: hundreds of records applied for a handful of round trips.

`BatchTx` is a `Tx` (the same one transaction, the same event store) that records the
batch's inbox rows and reads the streams its handlers fold (and a service's `BatchRead`)
in one statement (`first_deliveries`), and holds its
appends and the read-model rows stores hand to `later` until just before the commit
(`flush`), each table written then in one statement whatever the batch's size
(shared.runtime.bulk). The flush's first statement carries the appends, the waiting
readers' NOTIFY (`notify_changed`) and the rows of tables a store lets ride there
(`later(carried=)`): one round trip for all of them, whether or not the batch appends.
A read that must see held rows flushes first (`load` of a stream not preloaded,
`version`) or asks `pending`. A lost race to append surfaces at the flush, as
ConcurrencyError, failing the batch.
"""

import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import envelope
from shared.runtime import bulk, schema
from shared.runtime.eventstore import CHANGED_CHANNEL, OUTBOX_CHANNEL, ConcurrencyError, Tx

# How a store writes all the rows it held for one table, in one statement.
WriteRows = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]]
# A table's held rows: how to write them alone, the same INSERT as text to carry in the
# appends' statement (None: it cannot ride there), and the rows by key.
_Held = tuple[WriteRows, str | None, dict[Any, dict[str, Any]]]

_EVENT_COLUMNS = ("event_id", "stream_id", "version", "type", "body", "hash", "prev_hash")
_INSERT_EVENTS = bulk.insert_rows(schema.events, (*_EVENT_COLUMNS, "traceparent"))
_ROWS = re.compile(r":rows\b")


@functools.lru_cache(maxsize=32)
def _flush_statement(carried: tuple[str, ...], *, appends: bool = True) -> TextClause:
    """The batch's appends in one statement with the held rows of the tables that can ride
    in it (`carried`, each a `bulk.insert_rows` statement, its `:rows` renamed `:rows<i>`).
    It wakes the relay and the waiting readers of the streams held for `notify_changed` at
    the commit (NOTIFY is sent then wherever it is issued): what were separate round trips.
    A batch that appends nothing (`appends=False`) writes its rows and wakes its readers in
    one statement all the same, and leaves the relay asleep.
    A volatile CTE runs once, whole, when read, hence the count; a data-modifying one always.
    The same tables make the same text, which asyncpg prepares once per connection."""
    ctes = [f"appended AS ({_INSERT_EVENTS})"] if appends else []
    ctes += [f"carried{i} AS ({_ROWS.sub(f':rows{i}', each)})" for i, each in enumerate(carried)]
    ctes.append(
        f"changed AS (SELECT pg_notify('{CHANGED_CHANNEL}', id)"
        " FROM unnest(CAST(:changed AS text[])) AS id)"
    )
    wake_relay = f"pg_notify('{OUTBOX_CHANNEL}', ''), " if appends else ""
    return text(f"WITH {', '.join(ctes)} SELECT {wake_relay}(SELECT count(*) FROM changed)")


_INBOX = text(
    "INSERT INTO processed_events (consumer_group, event_id) "
    "SELECT :group, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id"
)


@dataclass(frozen=True)
class BatchRead:
    """What a service's handlers read once per transaction, carried in its consume batches'
    first statement rather than in a round trip of its own: `sql` is one row of one column
    (a JSON document, say) and takes no parameters; `keep` puts what it read where the
    handlers look for it (`Tx.memo`), as though they had read it then, in this transaction."""

    sql: str
    keep: Callable[[Tx, str | None], None]


@functools.lru_cache(maxsize=8)
def _inbox_and_streams(read: str | None) -> TextClause:
    """The inbox rows, and in the same round trip the streams of the facts that were first
    deliveries (a redelivered fact's stream is not read) and the service's `BatchRead`:
    inbox ids, the read, then each stream's facts in order. A data-modifying CTE runs
    once, whole, whether or not it is read. The streams are looked up by the array of
    their ids (the index, whatever the statistics say), then kept to first deliveries: a
    join to `fresh` alone let PostgreSQL read the whole table when it had no statistics
    yet (tests/integration/test_batch_plans.py)."""
    also = f" UNION ALL SELECT NULL, NULL, CAST(({read}) AS text), NULL" if read else ""
    return text(
        "WITH fresh AS (INSERT INTO processed_events (consumer_group, event_id) "
        "SELECT :group, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id) "
        "SELECT event_id, NULL::uuid AS stream_id, NULL::text AS body, NULL::int AS version "
        f"FROM fresh{also} UNION ALL "
        "SELECT NULL, stream_id, body, version FROM events"
        " WHERE stream_id = ANY(CAST(:streams AS uuid[])) AND stream_id IN ("
        " SELECT w.stream_id FROM unnest(CAST(:facts AS uuid[]), CAST(:streams AS uuid[]))"
        " AS w(event_id, stream_id) JOIN fresh USING (event_id)) "
        "ORDER BY stream_id NULLS FIRST, version"
    )


class BatchTx(Tx):
    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        super().__init__(conn, driver)
        self._streams: dict[UUID, list[envelope.Recorded]] = {}  # preloaded, kept current
        self._unwritten: list[dict[str, Any]] = []  # appended, not yet inserted
        self._later: dict[str, _Held] = {}
        self._changed: set[str] = set()  # streams to NOTIFY readers of, with the appends
        # The facts this batch applies (first deliveries, in order): a handler reads what
        # all of them need in one statement at its first call (audit's streams, intake's rows).
        self.batch: list[envelope.Recorded] = []

    async def first_deliveries(
        self,
        group: str,
        event_ids: Sequence[UUID],
        *,
        streams: Sequence[tuple[UUID, UUID]] = (),
        read: BatchRead | None = None,
    ) -> set[UUID]:
        """Record the batch's inbox rows; the ids this group had not applied before.
        `streams`: (event id, stream id) of the facts whose handlers fold their stream; the
        streams of those that are first deliveries are preloaded in the same statement, and
        so is `read`, the service's own (`BatchRead`)."""
        if not event_ids:
            return set()
        ids = list(dict.fromkeys(event_ids))
        wanted = [(e, s) for e, s in streams if s not in self._streams]
        if not wanted and read is None:
            inbox = await bulk.fetch(self.driver, _INBOX, {"group": group, "ids": ids})
            return {row["event_id"] for row in inbox}
        await self._write_events()
        rows = await bulk.fetch(
            self.driver,
            _inbox_and_streams(None if read is None else read.sql),
            {
                "group": group,
                "ids": ids,
                "facts": [e for e, _ in wanted],
                "streams": [s for _, s in wanted],
            },
        )
        fresh: set[UUID] = set()
        found: dict[UUID, list[envelope.Recorded]] = {}
        for row in rows:
            if row["stream_id"] is not None:
                found.setdefault(row["stream_id"], []).append(envelope.decode(row["body"].encode()))
            elif row["event_id"] is not None:
                fresh.add(row["event_id"])
            elif read is not None:  # the one row of the service's read
                read.keep(self, row["body"])
        self._preloaded({s: found.get(s, []) for e, s in wanted if e in fresh})
        return fresh

    def _preloaded(self, found: dict[UUID, list[envelope.Recorded]]) -> None:
        for stream_id, loaded in found.items():
            if loaded:  # the head an append chains to
                self._heads[stream_id] = (loaded[-1].version, loaded[-1].hash)
        self._streams.update(found)

    async def load(self, stream_id: UUID) -> list[envelope.Recorded]:
        if (preloaded := self._streams.get(stream_id)) is not None:
            return list(preloaded)
        await self._write_events()
        return await super().load(stream_id)

    async def reload(self, stream_id: UUID) -> list[envelope.Recorded]:
        await self._write_events()
        loaded = await super().reload(stream_id)
        self._preloaded({stream_id: loaded})  # kept current from here on, as preloaded
        return list(loaded)

    async def version(self, stream_id: UUID) -> int:
        await self._write_events()
        return await super().version(stream_id)

    async def _insert(
        self,
        stream_id: UUID,
        expected_version: int,
        rows: list[tuple[Any, ...]],
        recorded: list[envelope.Recorded],
        traceparent: str | None,
    ) -> None:
        del expected_version  # the unique (stream, version) key still decides, at the flush
        self._unwritten.extend(
            {**dict(zip(_EVENT_COLUMNS, row, strict=True)), "traceparent": traceparent}
            for row in rows
        )
        if (preloaded := self._streams.get(stream_id)) is not None:
            preloaded.extend(recorded)

    async def notify_changed(self, stream_ids: Sequence[UUID]) -> None:
        """Held for the statement of the batch's appends (at the flush, or a separate one
        when it appends nothing): the NOTIFY goes at the commit either way."""
        self._changed.update(str(s) for s in stream_ids)

    def later(
        self,
        table: str,
        write: WriteRows,
        key: Any,
        row: dict[str, Any],
        *,
        carried: str | None = None,
    ) -> None:
        """Hold a read-model row for the flush; a later row of the same key replaces it.
        `carried`: what `write` runs, as a text reading `:rows` (a `bulk.insert_rows`
        statement, say), when it may ride in the flush's statement: one row per key, so it
        touches each row once; no WITH of its own; nothing in it reads what the appends or
        the other riding tables write, since all of them see the statement's one snapshot."""
        self._later.setdefault(table, (write, carried, {}))[2][key] = row

    def drop(self, table: str, key: Any) -> None:
        """Forget a held row (a later row of another table supersedes it)."""
        if (held := self._later.get(table)) is not None:
            held[2].pop(key, None)

    def pending(self, table: str, key: Any) -> dict[str, Any] | None:
        held = self._later.get(table)
        return None if held is None else held[2].get(key)

    async def flush(self) -> None:
        """Write what the batch held: its facts with the rows that ride with them and its
        readers' NOTIFY, in one statement (one even when it appends nothing), then each
        other table's rows."""
        later, self._later = self._later, {}
        riding = {t: h for t, h in later.items() if h[1] and h[2]}
        await self._write_events(list(riding.values()), final=True)
        for table, (write, _, rows) in later.items():
            if rows and table not in riding:
                await write(self.conn, list(rows.values()))
        await super().flush()  # what a command held with `hold`

    async def _write_events(self, riding: Sequence[_Held] = (), *, final: bool = False) -> None:
        """The appends held so far; at the batch's `final` flush also the riding rows and
        the readers' NOTIFY, whether or not there is a fact to append."""
        if not (self._unwritten or (final and (riding or self._changed))):
            return
        rows, self._unwritten = self._unwritten, []
        changed, self._changed = sorted(self._changed), set()
        carried = tuple(str(sql) for _, sql, _ in riding)
        statement = _flush_statement(carried, appends=bool(rows))
        parameters: dict[str, Any] = {"changed": changed}
        if rows:
            parameters["rows"] = bulk.json_rows(rows)
        parameters |= {
            f"rows{i}": bulk.json_rows(held.values()) for i, (*_, held) in enumerate(riding)
        }
        try:
            await bulk.fetch(self.driver, statement, parameters)
        except asyncpg.IntegrityConstraintViolationError as exc:
            if not rows or getattr(exc, "table_name", None) not in (None, "events"):
                raise  # a carried row's fault, not a lost race: parked, never retried
            # a stream moved on since the batch read it
            raise ConcurrencyError(rows[0]["stream_id"], rows[0]["version"] - 1) from exc
        if rows:
            self._notified = True
