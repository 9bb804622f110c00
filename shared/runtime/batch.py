"""A consume batch's transaction: hundreds of records applied for a handful of round trips.

`BatchTx` is a `Tx` (the same one transaction, the same event store) that reads the
streams a batch's handlers fold in one statement (`preload`), records the batch's inbox
rows in one (`first_deliveries`), and holds its appends and the read-model rows stores
hand to `later` until just before the commit (`flush`), each written then in one
statement whatever the batch's size (shared.runtime.bulk). A read that must see held
rows flushes first (`load` of a stream not preloaded, `version`) or asks `pending`.
A lost race to append surfaces at the flush, as ConcurrencyError, failing the batch.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import envelope
from shared.runtime import bulk, schema
from shared.runtime.eventstore import OUTBOX_CHANNEL, ConcurrencyError, Tx

# How a store writes all the rows it held for one table, in one statement.
WriteRows = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]]

_EVENT_COLUMNS = ("event_id", "stream_id", "version", "type", "body", "hash", "prev_hash")
_APPEND = text(
    f"WITH appended AS ({bulk.insert_rows(schema.events, (*_EVENT_COLUMNS, 'traceparent'))})"
    f" SELECT pg_notify('{OUTBOX_CHANNEL}', '')"  # wakes the relay at the commit
)
_INBOX = text(
    "INSERT INTO processed_events (consumer_group, event_id) "
    "SELECT :group, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id"
)
_STREAMS = text(
    "SELECT stream_id, body FROM events WHERE stream_id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY stream_id, version"
)


class BatchTx(Tx):
    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        super().__init__(conn, driver)
        self._streams: dict[UUID, list[envelope.Recorded]] = {}  # preloaded, kept current
        self._unwritten: list[dict[str, Any]] = []  # appended, not yet inserted
        self._later: dict[str, tuple[WriteRows, dict[Any, dict[str, Any]]]] = {}
        # The facts this batch applies (first deliveries, in order): a handler reads what
        # all of them need in one statement at its first call (audit's streams, intake's rows).
        self.batch: list[envelope.Recorded] = []

    async def first_deliveries(self, group: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """Record the batch's inbox rows; the ids this group had not applied before."""
        if not event_ids:
            return set()
        ids = list(dict.fromkeys(event_ids))
        return set(await self.conn.scalars(_INBOX, {"group": group, "ids": ids}))

    async def preload(self, stream_ids: Sequence[UUID]) -> None:
        """Read these streams in one statement; `load` answers them from memory after."""
        wanted = [s for s in dict.fromkeys(stream_ids) if s not in self._streams]
        if not wanted:
            return
        await self._write_events()
        found: dict[UUID, list[envelope.Recorded]] = {s: [] for s in wanted}
        for row in await self.conn.execute(_STREAMS, {"ids": wanted}):
            found[row.stream_id].append(envelope.decode(row.body.encode()))
        for stream_id, loaded in found.items():
            if loaded:  # the head an append chains to
                self._heads[stream_id] = (loaded[-1].version, loaded[-1].hash)
        self._streams.update(found)

    async def load(self, stream_id: UUID) -> list[envelope.Recorded]:
        if (preloaded := self._streams.get(stream_id)) is not None:
            return list(preloaded)
        await self._write_events()
        return await super().load(stream_id)

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

    def later(self, table: str, write: WriteRows, key: Any, row: dict[str, Any]) -> None:
        """Hold a read-model row for the flush; a later row of the same key replaces it."""
        self._later.setdefault(table, (write, {}))[1][key] = row

    def drop(self, table: str, key: Any) -> None:
        """Forget a held row (a later row of another table supersedes it)."""
        if (held := self._later.get(table)) is not None:
            held[1].pop(key, None)

    def pending(self, table: str, key: Any) -> dict[str, Any] | None:
        held = self._later.get(table)
        return None if held is None else held[1].get(key)

    async def flush(self) -> None:
        """Write what the batch held: its facts, then each table's rows."""
        await self._write_events()
        later, self._later = self._later, {}
        for write, rows in later.values():
            await write(self.conn, list(rows.values()))
        await super().flush()  # what a command held with `hold`

    async def _write_events(self) -> None:
        if not self._unwritten:
            return
        rows, self._unwritten = self._unwritten, []
        try:
            await self.conn.execute(_APPEND, {"rows": bulk.json_rows(rows)})
        except IntegrityError as exc:  # a stream moved on since the batch read it
            raise ConcurrencyError(rows[0]["stream_id"], rows[0]["version"] - 1) from exc
        self._notified = True
