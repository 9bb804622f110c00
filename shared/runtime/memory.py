"""An event store in memory that keeps the PostgreSQL store's promises (expected version,
hash chain, inbox), for domain and command tests that need no database. The behaviour suite
in tests/support/eventstore_suite.py runs against it and against `Tx` alike, so it cannot
drift from the real one."""

import copy
from collections.abc import AsyncIterator, Callable, Sequence
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
    inbox: set[tuple[str, UUID]] = field(default_factory=set)


class MemoryTx:
    """One transaction: writes land in a private copy, published on commit."""

    def __init__(self, committed: _Committed) -> None:
        self._committed = committed
        self._streams = {k: list(v) for k, v in committed.streams.items()}
        self._inbox = set(committed.inbox)
        self._base = {k: len(v) for k, v in committed.streams.items()}

    async def load(self, stream_id: UUID) -> list[envelope.Recorded]:
        return list(self._streams.get(stream_id, []))

    async def version(self, stream_id: UUID) -> int:
        return len(self._streams.get(stream_id, []))

    async def load_state(
        self, stream_id: UUID, evolve: Callable[[State, events.Event], State], initial: State
    ) -> tuple[State, int]:
        state, version = initial, 0
        for recorded in await self.load(stream_id):
            state, version = evolve(state, recorded.event), recorded.version
        return state, version

    async def append(
        self,
        stream_id: UUID,
        new_events: Sequence[events.Event],
        *,
        expected_version: int,
        traceparent: str | None = None,  # noqa: ARG002 (the protocol's; nothing to carry here)
    ) -> int:
        stream = self._streams.setdefault(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version)
        prev_hash = stream[-1].hash if stream else envelope.GENESIS_HASH
        for event in new_events:
            recorded = envelope.encode(event, version=len(stream) + 1, prev_hash=prev_hash)
            stream.append(recorded)
            prev_hash = recorded.hash
        return len(stream)

    async def first_delivery(self, group: str, event_id: UUID) -> bool:
        if (group, event_id) in self._inbox:
            return False
        self._inbox.add((group, event_id))
        return True

    def _commit(self) -> None:
        # A stream another transaction extended since we began is the unique-key violation
        # PostgreSQL would raise at our insert: the second writer loses.
        for stream_id, stream in self._streams.items():
            base = self._base.get(stream_id, 0)
            moved = len(self._committed.streams.get(stream_id, [])) != base
            if moved and len(stream) != base:
                raise ConcurrencyError(stream_id, self._base.get(stream_id, 0))
        for stream_id, stream in self._streams.items():
            if len(stream) != self._base.get(stream_id, 0):
                self._committed.streams[stream_id] = stream
        self._committed.inbox |= self._inbox


class MemoryDatabase:
    """`Database`'s shape: `async with db.transaction() as tx` commits unless it raises."""

    def __init__(self) -> None:
        self._committed = _Committed()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryTx]:
        tx = MemoryTx(self._committed)
        yield tx
        tx._commit()

    def snapshot(self) -> dict[UUID, list[envelope.Recorded]]:
        return copy.copy(self._committed.streams)
