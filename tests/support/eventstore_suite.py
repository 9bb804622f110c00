"""One behaviour suite for every event store (as eventsourcing's tests/persistence.py does).

Subclass `EventStoreSuite` as `Test...` and give it a `store` fixture: tests/unit runs it on
`MemoryDatabase`, tests/integration on PostgreSQL's `Database`, so the in-memory store that
domain and command tests use cannot drift from the real one. What only a database can show
(tampered rows, idempotency records, NOTIFY) stays in tests/integration/test_eventstore.py.
"""

import asyncio
import itertools
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID, uuid4

import pytest

from shared import chain, envelope, events
from shared.decisions import Context
from shared.runtime import commands
from shared.runtime.eventstore import ConcurrencyError, EventStore
from tests.support import chains
from tests.unit import factories

Types = tuple[str, ...]
HOLD = 0.05  # seconds a transaction stays open so that concurrent writers overlap


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[EventStore]: ...


def fold(state: Types, event: events.Event) -> Types:
    return (*state, event.type)


@dataclass
class Projection:
    """A read model kept by `project`: what it was handed, call by call."""

    calls: list[tuple[Types, tuple[str, ...], int]] = field(default_factory=list)

    async def project(
        self, tx: EventStore, state: Types, new: Sequence[events.Event], version: int
    ) -> None:
        assert await tx.version(new[0].subject) == version  # same transaction as the append
        self.calls.append((state, tuple(e.type for e in new), version))


def aggregate(projection: Projection | None = None) -> commands.Aggregate[Types, EventStore]:
    return commands.Aggregate(
        what="appeal",
        initial=(),
        evolve=fold,
        project=projection.project if projection else None,
    )


def context() -> Context:
    return Context(actor="operator:test", now=factories.T0)


async def stored(store: Store, stream_id: UUID) -> list[envelope.Recorded]:
    async with store.transaction() as tx:
        return await tx.load(stream_id)


async def received(store: Store) -> events.AppealReceived:
    """A stream at version 1."""
    r = factories.received()
    async with store.transaction() as tx:
        await tx.append(r.subject, [r], expected_version=0)
    return r


class EventStoreSuite:
    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("a subclass provides the store under test")

    # Appending and loading

    async def test_appends_at_the_expected_version_and_loads_in_order(self, store: Store) -> None:
        r, a, h, s, c = factories.full_history()
        async with store.transaction() as tx:
            assert await tx.append(r.subject, [r], expected_version=0) == 1
        async with store.transaction() as tx:
            assert await tx.append(r.subject, [a, h], expected_version=1) == 3
            assert await tx.append(r.subject, [s, c], expected_version=3) == 5

        loaded = await stored(store, r.subject)
        assert [x.event for x in loaded] == [r, a, h, s, c]
        assert [x.version for x in loaded] == [1, 2, 3, 4, 5]
        assert {x.source for x in loaded} == {e.source for e in (r, a, h, s, c)}

    async def test_version_is_zero_for_no_stream_and_the_last_version_after(
        self, store: Store
    ) -> None:
        r, a, h, *_ = factories.full_history()
        async with store.transaction() as tx:
            assert await tx.version(r.subject) == 0
            assert await tx.load(r.subject) == []
            await tx.append(r.subject, [r, a], expected_version=0)
            assert await tx.version(r.subject) == 2  # its own writes, before commit
        async with store.transaction() as tx:
            await tx.append(r.subject, [h], expected_version=2)
        async with store.transaction() as tx:
            assert await tx.version(r.subject) == 3
            assert await tx.version(uuid4()) == 0

    async def test_load_state_folds_in_order_and_names_the_version(self, store: Store) -> None:
        history = factories.full_history()
        subject = history[0].subject
        async with store.transaction() as tx:
            await tx.append(subject, history[:3], expected_version=0)
            await tx.append(subject, history[3:], expected_version=3)
        async with store.transaction() as tx:
            empty: Types = ()
            assert await tx.load_state(subject, fold, empty) == (tuple(e.type for e in history), 5)
            assert await tx.load_state(uuid4(), fold, empty) == ((), 0)

    async def test_streams_are_apart(self, store: Store) -> None:
        one, other = factories.received(), factories.received()
        async with store.transaction() as tx:
            await tx.append(one.subject, [one], expected_version=0)
            await tx.append(other.subject, [other], expected_version=0)
            await tx.append(other.subject, [factories.assigned(other)], expected_version=1)
        assert [x.version for x in await stored(store, one.subject)] == [1]
        assert [x.version for x in await stored(store, other.subject)] == [1, 2]

    async def test_appending_nothing_records_nothing(self, store: Store) -> None:
        r = await received(store)
        fresh = uuid4()
        async with store.transaction() as tx:
            assert await tx.append(r.subject, [], expected_version=1) == 1
            assert await tx.append(fresh, [], expected_version=0) == 0
        assert [x.version for x in await stored(store, r.subject)] == [1]
        async with store.transaction() as tx:
            assert await tx.version(fresh) == 0

    # Optimistic concurrency

    @pytest.mark.parametrize("stale", [0, 2, 5])
    async def test_a_stale_expected_version_is_refused(self, store: Store, stale: int) -> None:
        r = await received(store)
        with pytest.raises(ConcurrencyError) as refused:
            async with store.transaction() as tx:
                await tx.append(r.subject, [factories.assigned(r)], expected_version=stale)
        assert (refused.value.stream_id, refused.value.expected_version) == (r.subject, stale)
        assert [x.event for x in await stored(store, r.subject)] == [r]

    async def test_a_fact_is_stored_once(self, store: Store) -> None:
        r = await received(store)
        elsewhere = uuid4()
        with pytest.raises(ConcurrencyError):
            async with store.transaction() as tx:
                await tx.append(elsewhere, [r], expected_version=0)
        async with store.transaction() as tx:
            assert await tx.version(elsewhere) == 0

    async def test_of_concurrent_appends_at_one_version_exactly_one_wins(
        self, store: Store
    ) -> None:
        r = await received(store)

        async def append_one() -> events.Event | None:
            a = factories.assigned(r)
            try:
                async with store.transaction() as tx:
                    await tx.append(r.subject, [a], expected_version=1)
                    await asyncio.sleep(HOLD)  # hold the transaction open so the others overlap
            except ConcurrencyError:
                return None
            return a

        outcomes = await asyncio.gather(*(append_one() for _ in range(8)))

        winners = [a for a in outcomes if a is not None]
        assert len(winners) == 1
        assert [x.event for x in await stored(store, r.subject)] == [r, winners[0]]

    async def test_a_transaction_reads_what_others_committed_since_it_began(
        self, store: Store
    ) -> None:
        r = factories.received()
        async with store.transaction() as first:
            assert await first.version(r.subject) == 0
            async with store.transaction() as second:
                await second.append(r.subject, [r], expected_version=0)
            # Read committed, as PostgreSQL's default: a retry in the same transaction sees it.
            assert [x.event for x in await first.load(r.subject)] == [r]
            assert await first.version(r.subject) == 1

    async def test_a_transaction_that_began_first_loses_to_one_that_committed_first(
        self, store: Store
    ) -> None:
        r = factories.received()

        async def first_writer() -> None:
            async with store.transaction() as first:
                assert await first.version(r.subject) == 0
                async with store.transaction() as second:
                    await second.append(r.subject, [r], expected_version=0)
                await first.append(r.subject, [factories.received(r.subject)], expected_version=0)

        with pytest.raises(ConcurrencyError):
            await first_writer()
        assert [x.event for x in await stored(store, r.subject)] == [r]

    async def test_a_writer_waits_for_an_open_writer_and_loses_if_it_commits(
        self, store: Store
    ) -> None:
        r = factories.received()
        appended = asyncio.Event()

        async def second_writer() -> None:
            await appended.wait()
            async with store.transaction() as tx:
                await tx.append(r.subject, [factories.received(r.subject)], expected_version=0)

        second = asyncio.create_task(second_writer())
        async with store.transaction() as tx:
            await tx.append(r.subject, [r], expected_version=0)
            appended.set()
            await asyncio.sleep(HOLD)
            assert not second.done()  # blocked on the open transaction's write
        with pytest.raises(ConcurrencyError):
            await second
        assert [x.event for x in await stored(store, r.subject)] == [r]

    async def test_a_writer_waits_for_an_open_writer_and_wins_if_it_rolls_back(
        self, store: Store
    ) -> None:
        r, mine = factories.received(), factories.received()
        appended = asyncio.Event()

        async def second_writer() -> None:
            await appended.wait()
            async with store.transaction() as tx:
                await tx.append(r.subject, [mine], expected_version=0)

        async def first_writer() -> None:
            async with store.transaction() as tx:
                await tx.append(r.subject, [r], expected_version=0)
                appended.set()
                await asyncio.sleep(HOLD)
                assert not second.done()  # blocked on the open transaction's write
                raise RuntimeError("rolled back")

        second = asyncio.create_task(second_writer())
        with pytest.raises(RuntimeError):
            await first_writer()
        await second
        assert [x.event for x in await stored(store, r.subject)] == [mine]

    async def test_an_open_transaction_writes_are_invisible_to_others(self, store: Store) -> None:
        r = factories.received()
        async with store.transaction() as writer:
            await writer.append(r.subject, [r], expected_version=0)
            async with store.transaction() as reader:
                assert await reader.load(r.subject) == []
                assert await reader.version(r.subject) == 0
        assert [x.event for x in await stored(store, r.subject)] == [r]

    # The hash chain

    async def test_the_hash_chain_links_every_fact_across_appends(self, store: Store) -> None:
        history = factories.full_history()
        subject = history[0].subject
        async with store.transaction() as tx:
            await tx.append(subject, history[:2], expected_version=0)
        for version, event in enumerate(history[2:], start=2):
            async with store.transaction() as tx:
                await tx.append(subject, [event], expected_version=version)

        loaded = await stored(store, subject)
        assert chain.problems(chains.links(loaded)) == []
        assert loaded[0].prev_hash == envelope.GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(loaded))
        assert [envelope.decode(x.body).event for x in loaded] == list(history)

    async def test_the_hash_chain_is_the_one_the_envelope_defines(self, store: Store) -> None:
        r, a, *_ = factories.full_history()
        async with store.transaction() as tx:
            await tx.append(r.subject, [r, a], expected_version=0)
        first = envelope.encode(r, version=1, prev_hash=envelope.GENESIS_HASH)
        second = envelope.encode(a, version=2, prev_hash=first.hash)
        loaded = await stored(store, r.subject)
        assert [(x.body, x.hash) for x in loaded] == [
            (first.body, first.hash),
            (second.body, second.hash),
        ]

    # The inbox and transactions

    async def test_first_delivery_admits_each_event_once_per_group(self, store: Store) -> None:
        event_id = uuid4()
        async with store.transaction() as tx:
            assert await tx.first_delivery("dispatch", event_id)
            assert not await tx.first_delivery("dispatch", event_id)
            assert await tx.first_delivery("audit", event_id)
        async with store.transaction() as tx:
            assert not await tx.first_delivery("dispatch", event_id)
            assert not await tx.first_delivery("audit", event_id)
            assert await tx.first_delivery("feedback", event_id)
            assert await tx.first_delivery("dispatch", uuid4())

    async def test_a_transaction_that_raises_leaves_nothing(self, store: Store) -> None:
        r = await received(store)
        fresh, event_id = factories.received(), uuid4()

        async def failing_handler() -> None:
            async with store.transaction() as tx:
                assert await tx.first_delivery("dispatch", event_id)
                await tx.append(r.subject, [factories.assigned(r)], expected_version=1)
                await tx.append(fresh.subject, [fresh], expected_version=0)
                raise RuntimeError("handler failed")

        with pytest.raises(RuntimeError):
            await failing_handler()
        async with store.transaction() as tx:
            assert await tx.version(r.subject) == 1
            assert await tx.version(fresh.subject) == 0
            assert await tx.first_delivery("dispatch", event_id)
            # The rolled-back fact was never stored: its id may be appended after all.
            await tx.append(fresh.subject, [fresh], expected_version=0)

    # commands.execute: the one write path

    async def test_execute_decides_appends_evolves_and_projects(self, store: Store) -> None:
        r = await received(store)
        projection = Projection()
        seen: list[tuple[Types, Context]] = []
        assigned = factories.assigned(r)
        ctx = context()

        def decide(state: Types, given: Context) -> list[events.Event]:
            seen.append((state, given))
            return [assigned]

        async with store.transaction() as tx:
            outcome = await commands.execute(
                tx, aggregate(projection), r.subject, decide, context=ctx, expected_version=1
            )

        assert seen == [(("appeal.received",), ctx)]
        assert outcome == commands.Outcome(("appeal.received", "appeal.assigned"), 2, (assigned,))
        assert projection.calls == [
            (("appeal.received", "appeal.assigned"), ("appeal.assigned",), 2)
        ]
        assert [x.event for x in await stored(store, r.subject)] == [r, assigned]

    async def test_execute_without_an_expected_version_takes_the_stream_as_it_is(
        self, store: Store
    ) -> None:
        r = factories.received()
        async with store.transaction() as tx:
            outcome = await commands.execute(
                tx, aggregate(), r.subject, lambda _state, _ctx: [r], context=context()
            )
        assert outcome.version == 1
        assert [x.event for x in await stored(store, r.subject)] == [r]

    async def test_execute_refuses_a_stale_expected_version(self, store: Store) -> None:
        r = await received(store)
        projection = Projection()
        with pytest.raises(commands.StaleStreamError) as stale:
            async with store.transaction() as tx:
                await commands.execute(
                    tx,
                    aggregate(projection),
                    r.subject,
                    lambda _state, _ctx: [factories.assigned(r)],
                    context=context(),
                    expected_version=0,
                )
        assert (stale.value.current, stale.value.expected) == (1, 0)
        assert stale.value.what == "appeal"
        assert projection.calls == []
        assert [x.event for x in await stored(store, r.subject)] == [r]

    async def test_execute_turns_a_lost_race_into_a_stale_stream(self, store: Store) -> None:
        r = await received(store)
        projection = Projection()
        winner = factories.assigned(r)

        async def loser() -> None:
            async with store.transaction() as tx:
                loaded = await commands.load(tx, aggregate(), r.subject)
                async with store.transaction() as other:  # wins between our load and append
                    await other.append(r.subject, [winner], expected_version=1)
                await commands.execute(
                    tx,
                    aggregate(projection),
                    r.subject,
                    lambda _state, _ctx: [factories.assigned(r)],
                    context=context(),
                    loaded=loaded,
                )

        with pytest.raises(commands.StaleStreamError) as stale:
            await loser()
        assert (stale.value.current, stale.value.expected) == (None, 1)
        assert projection.calls == []
        assert [x.event for x in await stored(store, r.subject)] == [r, winner]

    async def test_of_concurrent_commands_on_one_version_one_wins(self, store: Store) -> None:
        r = await received(store)
        projection = Projection()

        async def command() -> bool:
            try:
                async with store.transaction() as tx:
                    await commands.execute(
                        tx,
                        aggregate(projection),
                        r.subject,
                        lambda _state, _ctx: [factories.assigned(r)],
                        context=context(),
                        expected_version=1,
                    )
                    await asyncio.sleep(HOLD)
            except commands.StaleStreamError:
                return False
            return True

        outcomes = await asyncio.gather(*(command() for _ in range(6)))

        assert sorted(outcomes) == [False] * 5 + [True]
        assert [x.version for x in await stored(store, r.subject)] == [1, 2]

    async def test_execute_appends_nothing_when_the_decision_is_empty(self, store: Store) -> None:
        r = await received(store)
        projection = Projection()
        async with store.transaction() as tx:
            outcome = await commands.execute(
                tx,
                aggregate(projection),
                r.subject,
                lambda _state, _ctx: [],
                context=context(),
                expected_version=1,
            )
        assert outcome == commands.Outcome(("appeal.received",), 1, ())
        assert projection.calls == []
        assert [x.event for x in await stored(store, r.subject)] == [r]
