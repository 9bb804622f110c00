"""Group commit against a real PostgreSQL: commands asked at once share a transaction, and
each still commits with its own writes or not at all (shared/runtime/commit_groups.py)."""

import asyncio
import contextvars
from collections import Counter
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from prometheus_client import REGISTRY

from shared.runtime import idempotency
from shared.runtime.commit_groups import CommitGroups
from shared.runtime.database import Database
from shared.runtime.eventstore import Tx
from tests.unit import factories

pytestmark = pytest.mark.integration

CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")
SERVICE = "test-groups"


async def _file(tx: Tx) -> tuple[UUID, int]:
    """A command's write: one appeal's first fact; its stream and the transaction's id."""
    received = factories.received()
    await tx.append(received.subject, [received], expected_version=0)
    return received.subject, int(await tx.driver.fetchval("SELECT txid_current()"))


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"service": SERVICE}) or 0.0


async def _streams(db: Database, ids: list[UUID]) -> dict[UUID, int]:
    async with db.read() as tx:
        rows = await tx.driver.fetch(
            "SELECT stream_id, count(*) FROM events WHERE stream_id = ANY($1) GROUP BY 1", ids
        )
    return {row[0]: row[1] for row in rows}


async def test_commands_asked_at_once_share_a_transaction_each_kept(db: Database) -> None:
    groups = CommitGroups(db, most=8, at_once=1, service=SERVICE)
    transactions, commands = (
        _sample(f"hotline_commit_group_commands_{each}") for each in ("count", "sum")
    )

    filed = await asyncio.gather(*(groups.run(_file) for _ in range(10)))

    # All ten were waiting when the one open group began: eight, then the two left.
    assert sorted(Counter(txid for _, txid in filed).values()) == [2, 8]
    assert await _streams(db, [stream for stream, _ in filed]) == {s: 1 for s, _ in filed}
    assert _sample("hotline_commit_group_commands_count") == transactions + 2
    assert _sample("hotline_commit_group_commands_sum") == commands + 10


async def test_one_asked_alone_runs_alone(db: Database) -> None:
    groups = CommitGroups(db, most=8, at_once=2, service=SERVICE)
    first = await groups.run(_file)
    second = await groups.run(_file)
    assert first[1] != second[1]


async def test_a_failing_command_fails_alone_and_the_others_commit(db: Database) -> None:
    groups = CommitGroups(db, most=8, at_once=1, service=SERVICE)
    runs: Counter[str] = Counter()
    written: list[UUID] = []
    reruns = _sample("hotline_commit_group_reruns_total")

    def command(name: str) -> Any:
        async def action(tx: Tx) -> tuple[UUID, int]:
            runs[name] += 1
            stream, txid = await _file(tx)
            written.append(stream)
            if name == "bad":  # after its write: the write must not survive
                raise ValueError("refused")
            return stream, txid

        return action

    outcomes = await asyncio.gather(
        *(groups.run(command(name)) for name in ("a", "bad", "c")), return_exceptions=True
    )

    a, bad, c = outcomes
    assert isinstance(bad, ValueError)
    assert isinstance(a, tuple)
    assert isinstance(c, tuple)
    assert a[1] != c[1]  # after the group rolled back, each ran in a transaction of its own
    assert runs == {"a": 2, "bad": 2, "c": 1}  # c's turn had not come when bad failed
    assert _sample("hotline_commit_group_reruns_total") == reruns + 3
    # Of all the writes made, only the last run of each that succeeded is kept.
    assert await _streams(db, written) == {a[0]: 1, c[0]: 1}


async def test_a_failed_commit_fails_every_member_and_none_runs_again(db: Database) -> None:
    groups = CommitGroups(db, most=8, at_once=1, service=SERVICE)
    runs = 0

    async def action(tx: Tx) -> UUID:
        # A constraint checked at the commit: two members inserting one key pass their
        # statements and fail the group's commit together.
        nonlocal runs
        runs += 1
        await tx.driver.execute(
            "CREATE TEMP TABLE IF NOT EXISTS once (k int UNIQUE DEFERRABLE INITIALLY DEFERRED)"
        )
        await tx.driver.execute("INSERT INTO once VALUES (1)")
        stream, _ = await _file(tx)
        return stream

    outcomes = await asyncio.gather(*(groups.run(action) for _ in range(2)), return_exceptions=True)

    assert all(isinstance(each, asyncpg.UniqueViolationError) for each in outcomes), outcomes
    assert runs == 2  # a commit whose outcome is not known is never run again


async def test_each_action_runs_in_its_callers_context(db: Database) -> None:
    groups = CommitGroups(db, most=8, at_once=1, service=SERVICE)

    async def asked_by(name: str) -> str:
        CALLER.set(name)

        async def action(tx: Tx) -> str:
            await tx.driver.execute("SELECT 1")
            return CALLER.get()

        return await groups.run(action)

    assert await asyncio.gather(*(asked_by(f"r{i}") for i in range(5))) == [
        f"r{i}" for i in range(5)
    ]


async def test_twin_requests_in_one_group_have_one_effect(db: Database) -> None:
    groups = CommitGroups(db, most=8, at_once=1, service=SERVICE)
    effects: list[UUID] = []

    async def create(tx: Tx) -> idempotency.StoredResponse:
        stream, _ = await _file(tx)
        effects.append(stream)
        return idempotency.StoredResponse(201, {"id": str(stream)})

    async def request() -> dict[str, Any]:
        answer = await idempotency.run_once(
            groups, scope="test", key="k-1", request_body=lambda: {"a": 1}, action=create
        )
        return answer.body

    answers = await asyncio.gather(*(request() for _ in range(4)))

    assert len(effects) == 1
    assert answers == [{"id": str(effects[0])}] * 4


async def test_groups_that_deadlock_are_taken_apart_and_all_commit(db: Database) -> None:
    groups = CommitGroups(db, most=2, at_once=2, service=SERVICE)

    def locking(key: int) -> Any:
        async def action(tx: Tx) -> int:
            await tx.driver.execute("SELECT pg_advisory_xact_lock($1)", key)
            await asyncio.sleep(0.05)  # the other group takes its first lock meanwhile
            return key

        return action

    # The first group locks 1 then 2, the second 2 then 1 (a citizen's key row and an
    # Idempotency-Key's are such locks): PostgreSQL breaks the cycle by failing one, whose
    # group then runs its members alone.
    keys = await asyncio.wait_for(
        asyncio.gather(*(groups.run(locking(key)) for key in (1, 2, 2, 1))), timeout=30
    )
    assert keys == [1, 2, 2, 1]
