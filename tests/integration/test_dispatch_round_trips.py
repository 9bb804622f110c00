"""What dispatch's consume loop sends PostgreSQL per forwarded appeal, on real PostgreSQL.

At a steady rate each batch holds one forwarded appeal, so the statements of a batch are
the statements of an assignment: BEGIN; the inbox row with the appeal's stream and the
catalogue versions in force (shared.runtime.batch.BatchRead); the fact with its work order
and the readers' NOTIFY; COMMIT. Counted by pg_stat_statements (services/postgres.sh
preloads it), so a statement added anywhere on the way shows here. What the shortcuts must
not cost is held here too: a waiting reader still hears of every change at the commit,
and a carried read-model row that cannot be written is parked, not taken for a lost race.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from fastapi import Response
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import measure
from dispatch_service import handlers, seed, views
from dispatch_service.main import MIGRATIONS
from dispatch_service.routes import department
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import work_orders
from shared import envelope, events, topics
from shared.runtime import faults, metrics
from shared.runtime.auth import Principal
from shared.runtime.consumer import ConsumeLoop
from shared.runtime.database import Database
from shared.runtime.eventstore import CHANGED_CHANNEL
from shared.runtime.running import Runtime
from tests.support import consuming, infra
from tests.unit import factories

pytestmark = pytest.mark.integration

# Per batch of one forwarded appeal, besides BEGIN and COMMIT (it was 8: the inbox, the
# stream, the routing, policy and calendar versions apart, the readers' NOTIFY, the append
# and the work order). Raise it only knowing what the new statement buys.
STATEMENTS_PER_ASSIGNMENT = 2


async def seeded_consume_loop(db: Database) -> ConsumeLoop:
    """dispatch's consume loop on a seeded database, its batches applied by the test itself
    (`_apply_batch`), no broker."""
    async with db.transaction() as tx:
        await seed.seed(tx)
    return ConsumeLoop(
        db,
        lambda: None,
        group="dispatch",
        service="dispatch",
        handlers=handlers.HANDLERS,
        crash=faults.CrashPoints(None),
        batch_read=handlers.BATCH_READ,
    )


@pytest.fixture
async def dispatch(servers: None) -> AsyncIterator[tuple[str, ConsumeLoop]]:
    url = await infra.fresh_database("t_trips", MIGRATIONS)
    engine = create_async_engine(url)
    yield url, await seeded_consume_loop(Database(engine))
    await engine.dispose()


def _record(event: events.Event, offset: int, *, version: int = 2) -> Any:
    fact = envelope.encode(event, version=version, prev_hash=envelope.GENESIS_HASH)
    return consuming.record(fact.body, topics.BY_SOURCE[event.source], event.subject, offset)


async def test_a_forwarded_appeal_costs_two_statements_besides_begin_and_commit(
    dispatch: tuple[str, ConsumeLoop],
) -> None:
    url, loop = dispatch
    # The first batch builds what the process keeps by version (rules, policy, calendar).
    await loop._apply_batch(
        [_record(factories.forwarded(factories.received()), 0)], asyncio.Event()
    )
    await measure.reset_statements(measure.database_name(url))
    forwards = [factories.forwarded(factories.received()) for _ in range(5)]
    for offset, forwarded in enumerate(forwards, start=1):
        await loop._apply_batch([_record(forwarded, offset)], asyncio.Event())
    counted = await measure.statements(
        measure.database_name(url), len(forwards), role=infra.RUNTIME
    )
    assert counted["per_command"] == STATEMENTS_PER_ASSIGNMENT, counted["statements"]
    assert counted["transaction_control_per_command"] == 2, counted  # BEGIN, COMMIT
    [(assigned,)] = await infra.query(
        url,
        "SELECT count(*) FROM work_orders WHERE appeal_id = ANY(CAST(:ids AS uuid[]))",
        ids=[f.subject for f in forwards],
    )
    assert assigned == len(forwards)


async def test_a_batch_tells_waiting_readers_at_its_commit_whether_or_not_it_appends(
    dispatch: tuple[str, ConsumeLoop],
) -> None:
    url, loop = dispatch
    received = factories.received()
    forwarded = factories.forwarded(received)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(measure.dsn(url))
    await listener.add_listener(CHANGED_CHANNEL, lambda *args: heard.put_nowait(args[3]))
    try:
        # An assignment: the NOTIFY rides in the append's statement.
        await loop._apply_batch([_record(forwarded, 0)], asyncio.Event())
        assert await asyncio.wait_for(heard.get(), 5) == str(forwarded.subject)
        # A reply stops the clock: the work order is saved, nothing is appended.
        handled = factories.handled(factories.assigned(received))
        await loop._apply_batch([_record(handled, 1, version=1)], asyncio.Event())
        assert await asyncio.wait_for(heard.get(), 5) == str(forwarded.subject)
    finally:
        await listener.close()
    [(handled_round,)] = await infra.query(
        url, "SELECT handled_round FROM work_orders WHERE appeal_id = :a", a=forwarded.subject
    )
    assert handled_round == 1


async def test_a_carried_row_that_cannot_be_written_is_parked_not_retried_as_a_race(
    dispatch: tuple[str, ConsumeLoop], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, loop = dispatch
    forwarded = factories.forwarded(factories.received())
    # A work order without its state breaks the table's NOT NULL, in the append's statement.
    monkeypatch.setattr(work_orders, "view", lambda *_args, **_kwargs: None)
    retries = metrics.RETRIES.labels("dispatch")._value.get()
    await asyncio.wait_for(loop._apply_batch([_record(forwarded, 0)], asyncio.Event()), 30)
    assert metrics.RETRIES.labels("dispatch")._value.get() == retries
    [(parked,)] = await infra.query(url, "SELECT count(*) FROM parked_messages")
    [(facts,)] = await infra.query(
        url, "SELECT count(*) FROM events WHERE stream_id = :a", a=forwarded.subject
    )
    assert (parked, facts) == (1, 0)  # nothing of the batch was written


async def _assigned(loop: ConsumeLoop, count: int) -> list[events.AppealReceived]:
    """Appeals forwarded to dispatch and assigned, in one batch."""
    received = [factories.received() for _ in range(count)]
    await loop._apply_batch(
        [_record(factories.forwarded(r), offset) for offset, r in enumerate(received)],
        asyncio.Event(),
    )
    return received


async def _replied_rounds(url: str, received: list[events.AppealReceived]) -> list[int]:
    rows = await infra.query(
        url,
        "SELECT handled_round FROM work_orders WHERE appeal_id = ANY(CAST(:ids AS uuid[]))",
        ids=[r.subject for r in received],
    )
    return [row[0] for row in rows]


# Per batch of one reply (the clock stops, nothing is appended), besides BEGIN and COMMIT:
# the inbox row with the stream; the work order's row locked (tests/integration/
# test_work_order_races.py); the work order with the readers' NOTIFY, which were two.
STATEMENTS_PER_CLOCK_STOP = 3


async def test_a_reply_stopping_the_clock_writes_its_work_order_and_notify_in_one_statement(
    dispatch: tuple[str, ConsumeLoop],
) -> None:
    url, loop = dispatch
    received = await _assigned(loop, 6)
    replies = [factories.handled(factories.assigned(r)) for r in received]
    for offset, handled in enumerate(replies):
        if offset == 1:  # the first read the catalogue
            await measure.reset_statements(measure.database_name(url))
        await loop._apply_batch([_record(handled, 10 + offset, version=1)], asyncio.Event())
    counted = await measure.statements(
        measure.database_name(url), len(replies) - 1, role=infra.RUNTIME
    )
    assert counted["per_command"] == STATEMENTS_PER_CLOCK_STOP, counted["statements"]
    assert counted["transaction_control_per_command"] == 2, counted  # BEGIN, COMMIT
    assert await _replied_rounds(url, received) == [1] * len(received)


async def test_a_batch_of_replies_locks_their_work_orders_in_one_statement(
    dispatch: tuple[str, ConsumeLoop],
) -> None:
    url, loop = dispatch
    received = await _assigned(loop, 6)
    await measure.reset_statements(measure.database_name(url))
    replies = [factories.handled(factories.assigned(r)) for r in received]
    await loop._apply_batch(
        [_record(h, 10 + offset, version=1) for offset, h in enumerate(replies)], asyncio.Event()
    )
    counted = await measure.statements(measure.database_name(url), 1, role=infra.RUNTIME)
    assert counted["per_command"] == STATEMENTS_PER_CLOCK_STOP, counted["statements"]
    assert await _replied_rounds(url, received) == [1] * len(received)


# Per sign-for, besides BEGIN and COMMIT: the stream with its replied round and the catalogue
# versions in force; the fact; the work order saved and brought back (the answer's row).
# It was 6: the three reads apart, and the work order read again for the answer.
STATEMENTS_PER_SIGN_FOR = 3


async def test_a_sign_for_answers_with_the_work_order_it_saved_without_reading_it_again(
    dispatch: tuple[str, ConsumeLoop],
) -> None:
    url, loop = dispatch
    forwards = [factories.forwarded(factories.received()) for _ in range(6)]
    await loop._apply_batch(
        [_record(f, offset) for offset, f in enumerate(forwards)], asyncio.Event()
    )
    engine = create_async_engine(url)
    runtime = Runtime(DispatchSettings(database_url=url), engine, Database(engine), MIGRATIONS)
    answers = []
    try:
        async with runtime.db.read() as tx:
            before = [await work_orders.get_work_order(tx, f.subject) for f in forwards]
        for n, (forwarded, order) in enumerate(zip(forwards, before, strict=True)):
            assert order is not None
            if n == 1:  # the first opened the pool's connection and read the catalogue
                await measure.reset_statements(measure.database_name(url))
            caller = Principal("department", frozenset({"workorders:act"}), order["department"])
            response = Response()
            answer = await department.sign_for(
                forwarded.subject,
                department.SignFor(person="李工"),
                runtime,
                caller,
                response,
                if_match=f'"{order["version"]}"',
            )
            answers.append((forwarded.subject, answer, response.headers["ETag"]))
        counted = await measure.statements(
            measure.database_name(url), len(forwards) - 1, role=infra.RUNTIME
        )
        # The answer and its ETag are what a reader now finds.
        for appeal_id, answer, etag in answers:
            async with runtime.db.read() as tx:
                stored = await work_orders.get_work_order(tx, appeal_id)
            assert stored is not None
            assert (answer.stage, answer.version) == ("signed_for", 2)
            # The answer's clock is read when it is answered, a few ms after `as_of`: a
            # second's rounding may fall between the two.
            expected = views.work_order(stored, answer.as_of)
            clock, expected_clock = answer.running_clock, expected.running_clock
            assert clock is not None
            assert expected_clock is not None
            assert abs(clock.remaining_seconds - expected_clock.remaining_seconds) <= 1
            assert abs(clock.used_share - expected_clock.used_share) <= 0.001
            assert answer == expected.model_copy(update={"running_clock": clock})
            assert etag == views.etag(stored)
    finally:
        await engine.dispose()
    assert counted["per_command"] == STATEMENTS_PER_SIGN_FOR, counted["statements"]
    assert counted["transaction_control_per_command"] == 2, counted  # BEGIN, COMMIT
