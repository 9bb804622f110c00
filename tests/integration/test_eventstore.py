"""The event store, inbox and idempotency records against a real PostgreSQL."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared import events
from shared.runtime import idempotency
from shared.runtime.database import Database
from shared.runtime.eventstore import ConcurrencyError, Tx
from shared.runtime.problems import Problem
from tests.support import chains, infra
from tests.unit import factories

pytestmark = pytest.mark.integration


async def test_of_concurrent_appends_at_one_version_exactly_one_wins(db: Database) -> None:
    appeal_id = uuid4()

    async def append_one() -> bool:
        try:
            async with db.transaction() as tx:
                await tx.append(appeal_id, [factories.received(appeal_id)], expected_version=0)
                await asyncio.sleep(0.05)  # hold the transaction open so the others overlap
            return True
        except ConcurrencyError:
            return False

    outcomes = await asyncio.gather(*(append_one() for _ in range(12)))

    assert sorted(outcomes) == [False] * 11 + [True]
    async with db.transaction() as tx:
        assert [r.version for r in await tx.load(appeal_id)] == [1]


async def test_a_stale_expected_version_is_refused(db: Database) -> None:
    r = factories.received()
    async with db.transaction() as tx:
        await tx.append(r.subject, [r], expected_version=0)
    for stale in (0, 2):
        with pytest.raises(ConcurrencyError):
            async with db.transaction() as tx:
                await tx.append(r.subject, [factories.assigned(r)], expected_version=stale)


async def _store_history(db: Database) -> list[events.Event]:
    history: list[events.Event] = list(factories.full_history())
    async with db.transaction() as tx:
        # One stream holding several facts is enough to exercise the chain.
        await tx.append(history[0].subject, history[:2], expected_version=0)
    async with db.transaction() as tx:
        await tx.append(history[0].subject, history[2:], expected_version=2)
    return history


async def test_appended_events_load_in_order_with_an_intact_hash_chain(db: Database) -> None:
    history = await _store_history(db)
    async with db.transaction() as tx:
        loaded = await tx.load(history[0].subject)
        assert await chains.stored_problems(tx.conn, history[0].subject) == []
    assert [r.event for r in loaded] == history
    assert [r.version for r in loaded] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(loaded))


@pytest.fixture
async def owner(db: Database) -> AsyncIterator[Database]:
    """The same database as its owner: the runtime role may not change history."""
    engine = create_async_engine(infra.owner_url(db.engine.url.render_as_string(False)))
    yield Database(engine)
    await engine.dispose()


async def test_the_hash_chain_detects_a_changed_row(db: Database, owner: Database) -> None:
    history = await _store_history(db)
    async with owner.transaction() as tx:
        await tx.conn.execute(
            text(
                "UPDATE events SET body = replace(body, 'solved', 'explained') "
                "WHERE stream_id = :s AND version = 3"
            ),
            {"s": history[0].subject},
        )
        assert await chains.stored_problems(tx.conn, history[0].subject) == [
            "version 3: content does not match its hash"
        ]


async def test_the_hash_chain_detects_a_deleted_row(db: Database, owner: Database) -> None:
    history = await _store_history(db)
    async with owner.transaction() as tx:
        await tx.conn.execute(
            text("DELETE FROM events WHERE stream_id = :s AND version = 2"),
            {"s": history[0].subject},
        )
        problems = await chains.stored_problems(tx.conn, history[0].subject)
    assert "version 3 at position 2: missing or extra fact" in problems
    assert "version 3: prev_hash does not link to the previous fact" in problems


async def test_the_inbox_admits_each_event_once_per_group(db: Database) -> None:
    event_id = uuid4()
    async with db.transaction() as tx:
        assert await tx.first_delivery("dispatch", event_id)
        assert not await tx.first_delivery("dispatch", event_id)
        assert await tx.first_delivery("audit", event_id)


async def test_a_rolled_back_handler_leaves_no_inbox_row(db: Database) -> None:
    event_id = uuid4()

    async def failing_handler() -> None:
        async with db.transaction() as tx:
            assert await tx.first_delivery("dispatch", event_id)
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing_handler()
    async with db.transaction() as tx:
        assert await tx.first_delivery("dispatch", event_id)


_HOLD_INBOX_ROW = "INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2)"
_INBOX_ROWS = "SELECT consumer_group FROM processed_events WHERE event_id = $1 ORDER BY 1"


async def test_held_inserts_go_with_the_append_and_commit_or_vanish_with_it(db: Database) -> None:
    r, held = factories.received(), uuid4()
    async with db.transaction() as tx:
        tx.hold(_HOLD_INBOX_ROW, "feedback", held)
        tx.hold(_HOLD_INBOX_ROW, "audit", held)
        assert await tx.driver.fetch(_INBOX_ROWS, held) == []  # held, not yet sent
        await tx.append(r.subject, [r], expected_version=0)
        # sent in the append's statement, before the flush
        assert [row[0] for row in await tx.driver.fetch(_INBOX_ROWS, held)] == ["audit", "feedback"]
        assert len(await tx.load(r.subject)) == 1

    lost, rolled_back = factories.received(), uuid4()

    async def failing_command() -> None:
        async with db.transaction() as tx:
            tx.hold(_HOLD_INBOX_ROW, "audit", rolled_back)
            await tx.append(lost.subject, [lost], expected_version=0)
            raise RuntimeError("the command failed after its append")

    with pytest.raises(RuntimeError, match="the command failed after its append"):
        await failing_command()
    async with db.transaction() as tx:
        assert await tx.driver.fetch(_INBOX_ROWS, rolled_back) == []
        assert await tx.load(lost.subject) == []


async def test_a_held_insert_without_an_append_is_written_at_the_commit(db: Database) -> None:
    held = uuid4()
    async with db.transaction() as tx:
        tx.hold(_HOLD_INBOX_ROW, "audit", held)
    async with db.transaction() as tx:
        assert [row[0] for row in await tx.driver.fetch(_INBOX_ROWS, held)] == ["audit"]


_HOLD_COUNTING = (
    "INSERT INTO processed_events (consumer_group, event_id)"
    " SELECT $1, $2 RETURNING (SELECT count(*) FROM processed_events WHERE event_id = $2)"
)


async def test_an_answered_held_write_gives_what_it_read_once_its_statement_ran(
    db: Database,
) -> None:
    """Its read sees the statement's snapshot: what was there before, not the rows it and
    the other held writes add."""
    r, held = factories.received(), uuid4()
    async with db.transaction() as tx:
        assert await tx.first_delivery("dispatch", held)
        tx.hold(_HOLD_INBOX_ROW, "feedback", held)
        answer = tx.hold_answered(_HOLD_COUNTING, "audit", held)
        with pytest.raises(RuntimeError, match="has not run"):
            _ = answer.value
        await tx.append(r.subject, [r], expected_version=0)
        assert answer.value == 1
        flushed = tx.hold_answered(_HOLD_COUNTING, "intake", held)  # no append: the flush
    assert flushed.value == 3
    async with db.transaction() as tx:
        found = [row[0] for row in await tx.driver.fetch(_INBOX_ROWS, held)]
    assert found == ["audit", "dispatch", "feedback", "intake"]


async def test_a_held_insert_that_fails_is_not_taken_for_a_lost_race(db: Database) -> None:
    """Only the events' own key means another writer appended first (a 412 to a caller)."""
    r, held = factories.received(), uuid4()
    async with db.transaction() as tx:
        assert await tx.first_delivery("audit", held)

    async def append_beside_a_duplicate() -> None:
        async with db.transaction() as tx:
            tx.hold(_HOLD_INBOX_ROW, "audit", held)
            await tx.append(r.subject, [r], expected_version=0)

    with pytest.raises(asyncpg.UniqueViolationError):
        await append_beside_a_duplicate()
    async with db.transaction() as tx:
        assert await tx.load(r.subject) == []


async def test_an_idempotency_key_is_forgotten_after_the_retention(db: Database) -> None:
    """A record older than the retention is deleted (its body's hash, its response); a retry
    within it still answers the first request, and one after it is a new request."""
    effects: list[str] = []

    async def create(tx: Tx) -> idempotency.StoredResponse:
        effects.append(f"effect-{len(effects)}")
        return idempotency.StoredResponse(201, {"effect": effects[-1]})

    async def request(key: str) -> dict[str, Any]:
        answer = await idempotency.run_once(
            db, scope="test", key=key, request_body=lambda: {"phone": "13800000000"}, action=create
        )
        return answer.body

    await request("old")
    await request("recent")
    async with db.transaction() as tx:
        await tx.driver.execute(
            "UPDATE idempotency_keys SET created_at = created_at - interval '25 hours' "
            "WHERE key = 'old'"
        )
        now = await tx.driver.fetchval("SELECT now()")
        indexes = await tx.driver.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'idempotency_keys'"
        )
    assert "ix_idempotency_keys_created_at" in {row[0] for row in indexes}
    day = timedelta(hours=24)

    assert await idempotency.sweep_expired(db, now, retention=day, batch=10) == 1
    assert await idempotency.sweep_expired(db, now, retention=day, batch=10) == 0
    assert await request("recent") == {"effect": "effect-1"}  # within it: the first answer
    assert await request("old") == {"effect": "effect-2"}  # after it: done again
    assert len(effects) == 3


async def test_a_key_swept_between_its_claim_and_its_read_is_claimed_again(
    db: Database,
) -> None:
    """The claim's insert finds the expired record; the sweep deletes it and commits before
    the claim reads it back. The claim takes the key afresh instead of failing."""
    async with db.transaction() as tx:
        await idempotency.claim(tx, scope="test", key="k", request_fingerprint="f")
        await tx.driver.execute(
            "UPDATE idempotency_keys SET created_at = created_at - interval '2 days'"
        )

    class SweptBeforeTheRead:
        """The transaction's connection, with the sweep committed just before a read."""

        def __init__(self, driver: Any) -> None:
            self._driver, self.swept = driver, 0

        def __getattr__(self, name: str) -> Any:
            return getattr(self._driver, name)

        async def fetchrow(self, *args: Any) -> Any:
            if not self.swept:
                now = await self._driver.fetchval("SELECT now()")
                self.swept = await idempotency.sweep_expired(
                    db, now, retention=timedelta(days=1), batch=10
                )
            return await self._driver.fetchrow(*args)

    async with db.transaction() as tx:
        swept = SweptBeforeTheRead(tx.driver)
        tx.driver = swept
        assert await idempotency.claim(tx, scope="test", key="k", request_fingerprint="g") is None
        assert swept.swept == 1  # the race happened, and the key was claimed again
        tx.driver = swept._driver
        assert await tx.driver.fetchval("SELECT fingerprint FROM idempotency_keys") == "g"


async def test_racing_requests_with_one_idempotency_key_have_one_effect(db: Database) -> None:
    body = {"content": "路灯不亮"}
    effects: list[str] = []

    async def create(tx: Tx) -> idempotency.StoredResponse:
        r = factories.received()
        await tx.append(r.subject, [r], expected_version=0)
        effects.append(str(r.subject))
        await asyncio.sleep(0.05)
        return idempotency.StoredResponse(201, {"id": str(r.subject)})

    async def request() -> dict[str, Any]:
        answer = await idempotency.run_once(
            db, scope="test", key="k-1", request_body=lambda: body, action=create
        )
        return answer.body

    answers = await asyncio.gather(*(request() for _ in range(8)))

    assert len(effects) == 1
    assert answers == [{"id": effects[0]}] * 8
    with pytest.raises(Problem) as refused:
        await idempotency.run_once(
            db, scope="test", key="k-1", request_body=lambda: {"other": 1}, action=create
        )
    assert refused.value.status == 422
