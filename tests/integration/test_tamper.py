"""Someone with database access edits history: every column of audit's fact store and of a
service's event table, one at a time. The runtime role cannot (refused by PostgreSQL), so the
edits run as the owner; each is then found (a finding naming the appeal and position, or a
break in the service's self-check) and makes a replay over the edited rows unequal."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit_service import comparison, store
from audit_service.domain import wire
from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from audit_service.store.tables import facts
from audit_service.verification import FactCheck
from intake_service.main import MIGRATIONS as INTAKE_MIGRATIONS
from shared import topics
from shared.runtime import schema, selfcheck
from shared.runtime.consumer import Delivery
from shared.runtime.database import Database
from tests.support import infra, tampering
from tests.unit import factories

pytestmark = pytest.mark.integration

# Each column of audit's fact store, and an edit that changes it.
AUDIT_EDITS = {
    "event_id": "event_id = gen_random_uuid()",
    "source": "source = source || 'x'",
    "type": "type = type || 'x'",
    "subject": "subject = gen_random_uuid()",
    "version": "version = version + 7",
    "time": "time = time - interval '3 days'",
    "actor": "actor = 'operator:someone-else'",
    "causation_id": "causation_id = gen_random_uuid()",
    "hash": "hash = repeat('e', 64)",
    "prev_hash": "prev_hash = repeat('a', 64)",
    "body": 'body = replace(body, \'"actor":"\', \'"actor":"x\')',
    "topic": "topic = topic || 'x'",
    "partition": "partition = partition + 1",
    "offset": '"offset" = "offset" + 1000',
    "ingested_at": "ingested_at = ingested_at - interval '1 day'",
    "seq": "seq = seq + 1000000",
    "seal": "seal = repeat('0', 64)",
}
# Each column of a service's event table, and an edit that changes it. The last four are
# the outbox's bookkeeping (shared/runtime/selfcheck.py says what each must hold).
EVENT_EDITS = {
    "event_id": "event_id = gen_random_uuid()",
    "stream_id": "stream_id = gen_random_uuid()",
    "version": "version = version + 7",
    "type": "type = type || 'x'",
    "body": 'body = replace(body, \'"actor":"\', \'"actor":"x\')',
    "hash": "hash = repeat('e', 64)",
    "prev_hash": "prev_hash = repeat('a', 64)",
    "id": "id = id + 1000000",
    "traceparent": "traceparent = 'forged'",
    "recorded_at": "recorded_at = now() + interval '1 day'",
    # A mark on a fact the relay never sent: it would never be published.
    "published_at": "published_at = recorded_at - interval '1 second'",
}


def test_every_column_is_edited() -> None:
    # A row seal shows nothing: edited, it only sends a replay to read the row's bytes back
    # (tests/integration/test_live_checks.py). PostgreSQL writes the row's digest itself.
    assert set(AUDIT_EDITS) == {c.name for c in facts.columns} - {"row_seal", "row_digest"}
    assert set(EVENT_EDITS) == {c.name for c in schema.events.columns}


@pytest.fixture
async def audit(servers: None) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """audit's database as the runtime role and as the owner."""
    url = await infra.fresh_database("t_tamper", AUDIT_MIGRATIONS)
    runtime, owner = create_async_engine(url), create_async_engine(infra.owner_url(url))
    yield runtime, owner
    await runtime.dispose()
    await owner.dispose()


def _deliveries(histories: int) -> list[list[Delivery]]:
    """Appeals' facts as audit reads them off the topics, chained per service."""
    appeals, offsets = [], dict.fromkeys(topics.ALL, 0)
    for _ in range(histories):
        read = []
        for recorded in factories.chained(factories.full_history()):
            topic = topics.BY_SOURCE[recorded.source]
            read.append(Delivery(recorded, topic, 0, offsets[topic]))
            offsets[topic] += 1
        appeals.append(read)
    return appeals


def _columns(appeals: list[list[Delivery]]) -> list[wire.Columns]:
    """The same facts as a replay copies them into its schema."""
    return [store.fact_columns(d) for read in appeals for d in read]


async def test_the_runtime_role_cannot_update_or_delete_history(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, _ = audit
    [read] = _deliveries(1)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for d in read])
    for statement in (
        "UPDATE facts SET actor = 'x'",
        "DELETE FROM facts",
        "TRUNCATE facts",
        "DELETE FROM findings",
        "UPDATE events SET body = ''",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with runtime.begin() as conn:
                await conn.execute(text(statement))

    url = await infra.fresh_database("t_roles", INTAKE_MIGRATIONS)
    engine = create_async_engine(url)
    try:
        received = factories.received()
        async with Database(engine).transaction() as tx:
            await tx.append(received.subject, [received], expected_version=0)
        for statement in (
            "UPDATE events SET body = replace(body, 'a', 'b')",
            "UPDATE events SET recorded_at = now()",
            "DELETE FROM events",
            "TRUNCATE events",
        ):
            with pytest.raises(DBAPIError, match="permission denied"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.begin() as conn:  # the relay's one change stays possible
            marked = await conn.execute(text("UPDATE events SET published_at = now()"))
        assert marked.rowcount == 1
    finally:
        await engine.dispose()


async def test_editing_any_column_of_audits_facts_is_found_and_makes_a_replay_unequal(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    appeals = _deliveries(len(AUDIT_EDITS) + 1)
    rows = [store.fact_row(d) for read in appeals for d in read]
    async with runtime.begin() as conn:
        await store.add_facts(conn, rows)
        # What the log holds, rebuilt beside the live projection as a replay rebuilds it.
        replay_id, schema_name = await store.new_replay(conn, {})
        await store.create_projection_schema(conn, schema_name)
        await store.copy_facts(conn, schema_name, _columns(appeals), first_seq=1)
    ends = {f"{t}:0": 10**6 for t in topics.ALL}
    assert (await comparison.compare(runtime, schema_name, ends))["equal"] is True
    assert await FactCheck().run_pass(runtime) == 0

    edited: dict[str, UUID] = {}
    for column, edit in AUDIT_EDITS.items():
        appeal = appeals[len(edited)]
        target = appeal[2].fact  # the dispatch fact in the middle of the appeal's history
        async with owner.begin() as conn:
            await tampering.unchecked(conn)
            await conn.execute(
                text(f"UPDATE facts SET {edit} WHERE event_id = :e"), {"e": target.event.id}
            )
        edited[column] = target.event.subject

    report = await comparison.compare(runtime, schema_name, ends)
    assert report["equal"] is False
    differing = set(report["differing"])
    assert {c for c, appeal in edited.items() if str(appeal) not in differing} == set()
    assert str(appeals[-1][0].fact.event.subject) not in differing  # the untouched appeal

    check = FactCheck(batch=7)  # several bounded passes cover the whole store
    for _ in range(len(rows) // 7 + 2):
        await check.run_pass(runtime)
    async with runtime.connect() as conn:
        found = await store.list_findings(conn, kind="tampered_row", limit=1000)
    by_appeal: dict[UUID, list[dict[str, Any]]] = {}
    for finding in found:
        by_appeal.setdefault(finding["appeal_id"], []).append(finding)
    assert {c for c, appeal in edited.items() if appeal not in by_appeal} == set()
    for finding in found:
        assert finding["topic"]
        assert finding["offset"] is not None
        assert finding["version"]
    # The history of an appeal whose actor column was edited shows the true actor and says
    # it is not verified.
    async with runtime.connect() as conn:
        history = await store.appeal_facts(conn, edited["actor"])
    assert sorted(f.actor for f, _ in history) == sorted(d.fact.event.actor for d in appeals[6])
    assert any(f.problems for f, _ in history)
    async with runtime.connect() as conn:
        [recorded] = [
            f for f, _ in await store.appeal_facts(conn, edited["ingested_at"]) if f.problems
        ]
    assert recorded.problems == ("record time or position does not match audit's seal",)
    del replay_id


async def test_a_row_copying_a_facts_bytes_under_another_id_makes_a_replay_unequal(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """An appeal's history shows one fact per event id, read from the bytes: a second row
    holding a fact's bytes under a made-up event id does not change what the history shows,
    so its appeal's digest stays; its failed check must still make the appeal differ."""
    runtime, owner = audit
    appeals = _deliveries(2)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in appeals for d in read])
        _, schema_name = await store.new_replay(conn, {})
        await store.create_projection_schema(conn, schema_name)
        await store.copy_facts(conn, schema_name, _columns(appeals), first_seq=1)
    ends = {f"{t}:0": 10**6 for t in topics.ALL}
    copied = appeals[0][2].fact.event
    columns = ", ".join(
        f'"{c.name}"'
        for c in facts.columns
        if c.name not in ("event_id", "seq") and c.computed is None  # PostgreSQL writes those
    )
    async with owner.begin() as conn:
        await conn.execute(
            text(
                f"INSERT INTO facts (event_id, {columns}) "
                f"SELECT :first, {columns} FROM facts WHERE event_id = :e"
            ),
            # read before the genuine row: the history keeps the last row read per event id
            {"e": copied.id, "first": UUID(int=0)},
        )

    report = await comparison.compare(runtime, schema_name, ends)
    assert report["equal"] is False
    assert report["differing"] == [str(copied.subject)]


async def test_editing_any_column_of_a_services_event_table_is_found(
    db: Database,
) -> None:
    owner = create_async_engine(infra.owner_url(str(db.engine.url.render_as_string(False))))
    streams = []
    for _ in EVENT_EDITS:
        history = factories.full_history()
        own = [e for e in history if e.source == "dispatch"]
        async with db.transaction() as tx:
            await tx.append(own[0].subject, own, expected_version=0)
        streams.append(own[0].subject)
    async with db.engine.connect() as conn:
        assert (await selfcheck.verify_slice(conn, 0, 1000))[1] == []
    try:
        for edit, stream in zip(EVENT_EDITS.values(), streams, strict=True):
            async with owner.begin() as conn:
                await conn.execute(
                    text(f"UPDATE events SET {edit} WHERE stream_id = :s AND version = 2"),
                    {"s": stream},
                )
    finally:
        await owner.dispose()
    check = selfcheck.SelfCheck("dispatch", batch=5)
    breaks: list[selfcheck.Break] = []
    for _ in range(20):
        async with db.engine.connect() as conn:
            breaks += await check.run_pass(conn)
    broken = {b.stream_id for b in breaks}
    assert {c for c, s in zip(EVENT_EDITS, streams, strict=True) if s not in broken} == set()
    # Each break names the stream and version, and says which column.
    for column, stream in zip(EVENT_EDITS, streams, strict=True):
        about = {b.problem for b in breaks if b.stream_id == stream}
        assert about, column
        if column in ("id", "traceparent", "recorded_at", "published_at"):
            assert any(column in p for p in about), about
            assert {b.version for b in breaks if b.stream_id == stream} == {2}
    [published] = [s for c, s in zip(EVENT_EDITS, streams, strict=True) if c == "published_at"]
    assert {b.problem for b in breaks if b.stream_id == published} == {
        "column published_at is before the row was recorded, or in the future",
        "published while an earlier version is not",
    }


async def test_a_row_marked_unpublished_in_the_middle_of_its_stream_is_found(
    db: Database,
) -> None:
    """Marks are a prefix of each stream: the relay publishes in id order."""
    own = [e for e in factories.full_history() if e.source == "dispatch"]
    async with db.transaction() as tx:
        await tx.append(own[0].subject, own, expected_version=0)
    async with db.engine.begin() as conn:  # as the relay marks them
        await conn.execute(text("UPDATE events SET published_at = now()"))
    async with db.engine.connect() as conn:
        assert (await selfcheck.verify_slice(conn, 0, 1000))[1] == []
    owner = create_async_engine(infra.owner_url(str(db.engine.url.render_as_string(False))))
    try:
        async with owner.begin() as conn:
            await conn.execute(text("UPDATE events SET published_at = NULL WHERE version = 1"))
    finally:
        await owner.dispose()
    async with db.engine.connect() as conn:
        breaks = (await selfcheck.verify_slice(conn, 0, 1000))[1]
    assert [(b.version, b.problem) for b in breaks] == [
        (2, "published while an earlier version is not")
    ]
