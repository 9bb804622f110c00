"""An event store in memory that keeps the PostgreSQL store's promises (expected version,
hash chain, inbox), for domain and command tests that need no database. The behaviour suite
in tests/support/eventstore_suite.py runs against it and against `Tx` alike, so it cannot
drift from the real one."""

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from shared import envelope, events
from shared.runtime.eventstore import ConcurrencyError

State = TypeVar("State")


@dataclass
class _Committed:
    streams: dict[UUID, list[envelope.Recorded]] = field(default_factory=dict)
    event_ids: set[UUID] = field(default_factory=set)
    inbox: set[tuple[str, UUID]] = field(default_factory=set)
    # The keys an open transaction has written, as PostgreSQL's unique-index entries of its
    # uncommitted rows: another writer of the same key waits until that transaction ends.
    writers: dict[Hashable, "MemoryTx"] = field(default_factory=dict)


class MemoryTx:
    """One transaction, read committed as PostgreSQL's default: it reads what others have
    committed plus its own writes, which others see only once it commits.

    A writer of a stream (or an event id, or an inbox row) another open transaction has
    written waits for that transaction, then checks against what it committed, exactly as
    an INSERT waits on a unique key: so a lost race surfaces at `append`, where commands
    turn it into StaleStreamError, not at commit.
    """

    def __init__(self, committed: _Committed) -> None:
        self._committed = committed
        self._pending: dict[UUID, list[envelope.Recorded]] = {}
        self._inbox: set[tuple[str, UUID]] = set()
        self._held: set[Hashable] = set()
        self._ended = asyncio.Event()
        self._task = asyncio.current_task()

    def _stream(self, stream_id: UUID) -> list[envelope.Recorded]:
        return self._committed.streams.get(stream_id, []) + self._pending.get(stream_id, [])

    async def load(self, stream_id: UUID) -> list[envelope.Recorded]:
        # Through the codec, as PostgreSQL's rows are: an event that does not survive its
        # own wire format fails here, not first in production.
        return [envelope.decode(r.body) for r in self._stream(stream_id)]

    async def version(self, stream_id: UUID) -> int:
        return len(self._stream(stream_id))

    async def load_state(
        self, stream_id: UUID, evolve: Callable[[State, events.Event], State], initial: State
    ) -> tuple[State, int]:
        return envelope.fold(await self.load(stream_id), evolve, initial)

    async def append(
        self,
        stream_id: UUID,
        new_events: Sequence[events.Event],
        *,
        expected_version: int,
        traceparent: str | None = None,  # noqa: ARG002 (the protocol's; nothing to carry here)
    ) -> int:
        if not new_events:
            # PostgreSQL looks up the hash at expected_version and inserts nothing.
            if expected_version > len(self._stream(stream_id)):
                raise ConcurrencyError(stream_id, expected_version)
            return expected_version
        await self._write(("stream", stream_id))
        for event in new_events:
            await self._write(("event", event.id))
        stream = self._stream(stream_id)
        ids = [e.id for e in new_events]
        stored = self._committed.event_ids.union(
            r.event.id for pending in self._pending.values() for r in pending
        )
        if len(stream) != expected_version or len(set(ids)) != len(ids) or stored & set(ids):
            raise ConcurrencyError(stream_id, expected_version)
        prev_hash = stream[-1].hash if stream else envelope.GENESIS_HASH
        pending = self._pending.setdefault(stream_id, [])
        for version, event in enumerate(new_events, start=expected_version + 1):
            recorded = envelope.encode(event, version=version, prev_hash=prev_hash)
            pending.append(recorded)
            prev_hash = recorded.hash
        return expected_version + len(new_events)

    async def first_delivery(self, group: str, event_id: UUID) -> bool:
        await self._write(("inbox", group, event_id))
        if (group, event_id) in self._committed.inbox | self._inbox:
            return False
        self._inbox.add((group, event_id))
        return True

    async def _write(self, key: Hashable) -> None:
        while (holder := self._committed.writers.get(key)) not in (None, self):
            assert holder is not None
            if holder._task is asyncio.current_task():
                # PostgreSQL would wait forever: the holder can only end in this same task.
                raise RuntimeError(f"deadlock: this task's other open transaction wrote {key}")
            await holder._ended.wait()
        self._committed.writers[key] = self
        self._held.add(key)

    def _end(self, *, commit: bool) -> None:
        if commit:
            for stream_id, pending in self._pending.items():
                self._committed.streams.setdefault(stream_id, []).extend(pending)
                self._committed.event_ids.update(r.event.id for r in pending)
            self._committed.inbox |= self._inbox
        for key in self._held:
            del self._committed.writers[key]
        self._ended.set()


class MemoryDatabase:
    """`Database`'s shape: `async with db.transaction() as tx` commits unless it raises."""

    def __init__(self) -> None:
        self._committed = _Committed()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryTx]:
        tx = MemoryTx(self._committed)
        try:
            yield tx
        except BaseException:
            tx._end(commit=False)
            raise
        tx._end(commit=True)

    def snapshot(self) -> dict[UUID, list[envelope.Recorded]]:
        return {stream_id: list(stream) for stream_id, stream in self._committed.streams.items()}
