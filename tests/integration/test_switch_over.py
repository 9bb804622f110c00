"""Someone with database access edits audit's facts; a replay rebuilds them from the log;
the owner switches the live projection over, and the history verifies again and equals the
rebuilt one. The switch-over is recorded with every row it changed."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import checkpoints, comparison, store
from audit_service import switch_over as switching
from audit_service.domain import merkle, proofs, signing
from audit_service.store.tables import BODY_HASHED
from audit_service.verification import FactCheck, StoreCheck
from shared import topics
from tests.integration.test_tamper import AUDIT_EDITS, _columns, _deliveries, audit
from tests.support import tampering

pytestmark = pytest.mark.integration
__all__ = ["audit"]  # the fixture, shared with the tamper tests


async def _finish(
    conn: AsyncConnection, replay_id: int, schema_name: str, ends: dict[str, int]
) -> None:
    await store.finish_replay(
        conn, replay_id, schema_name=schema_name, end_offsets=ends, status="different",
        facts_read=0, report={},
    )  # fmt: skip


async def test_a_switch_over_sets_tampered_rows_right(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    appeals = _deliveries(len(AUDIT_EDITS) + 2)
    rows = [store.fact_row(d) for read in appeals for d in read]
    ends = {f"{t}:0": 10**6 for t in topics.ALL}
    async with runtime.begin() as conn:
        await store.add_facts(conn, rows)
        replay_id, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
        await store.copy_facts(conn, schema_name, _columns(appeals), first_seq=1)
        await _finish(conn, replay_id, schema_name, ends)

    edited = {}
    for n, (column, edit) in enumerate(AUDIT_EDITS.items()):
        target = appeals[n][2].fact.event
        async with owner.begin() as conn:
            await tampering.unchecked(conn)
            await conn.execute(
                text(f"UPDATE facts SET {edit} WHERE event_id = :e"), {"e": target.id}
            )
        edited[column] = target.subject
    lost = appeals[-2][3].fact.event  # deleted outright
    async with owner.begin() as conn:
        await conn.execute(text("DELETE FROM facts WHERE event_id = :e"), {"e": lost.id})
    assert (await comparison.compare(runtime, schema_name, ends))["equal"] is False
    check = FactCheck(batch=10_000)
    assert await check.run_pass(runtime) > 0

    async with runtime.begin() as conn:
        await store.update_replay(conn, replay_id, status="running")
    with pytest.raises(switching.SwitchOverRefused):  # the replay must have finished
        await switching.switch_over(owner, replay_id, by="operator:test")
    async with runtime.begin() as conn:
        await store.update_replay(conn, replay_id, status="different")
    record = await switching.switch_over(owner, replay_id, by="operator:test")

    assert (await comparison.compare(runtime, schema_name, ends))["equal"] is True
    assert await FactCheck(batch=10_000).run_pass(runtime) == 0
    for appeal in {*edited.values(), lost.subject}:
        async with runtime.connect() as conn:
            history = await store.appeal_facts(conn, appeal)
        assert [f.problems for f, _ in history if f.problems] == []
    # Every tampered finding was about a fact the switch-over replaced afterwards.
    async with runtime.connect() as conn:
        found = await store.list_findings(conn, kind="tampered_row", limit=1000)
        repaired = await store.repaired_at(conn, [f["event_id"] for f in found])
        # what was known before the switch-over: no repair yet (a history `known_at` then)
        known_then = await store.repaired_at(
            conn, [f["event_id"] for f in found], known_at=max(f["found_at"] for f in found)
        )
        [listed] = await store.list_switch_overs(conn, before=None, limit=10)
    assert found
    assert all(repaired[f["event_id"]] > f["found_at"] for f in found)
    assert known_then == {}
    assert record["added"] >= 1  # the deleted row, and rows whose event id was edited
    assert record["removed"] >= 1  # the row under the edited event id
    assert record["replaced"] >= len(AUDIT_EDITS) - 2
    assert listed["replay_id"] == replay_id
    assert listed["switched_by"] == "operator:test"
    changed: dict[str, Any] = {str(r["event_id"]): r for r in listed["rows"]}
    assert changed[str(lost.id)]["change"] == "added"
    # An untouched appeal kept its rows as they were (same record place).
    untouched = appeals[-1][0].fact.event.id
    assert str(untouched) not in changed
    with pytest.raises(switching.SwitchOverRefused):  # once per replay
        await switching.switch_over(owner, replay_id, by="operator:test")
    # Its record is history: the runtime role can neither change nor drop it.
    for statement in ("UPDATE switch_overs SET switched_by = 'x'", "DELETE FROM switch_over_rows",
                      "UPDATE kpi_rules SET version = 9", "DELETE FROM kpi_rules"):  # fmt: skip
        with pytest.raises(DBAPIError, match="permission denied"):
            async with runtime.begin() as conn:
                await conn.execute(text(statement))


async def test_a_replay_edited_through_the_runtime_role_is_not_switched_over(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The runtime role owns the replay's schema and may update its record: what it changes
    there must not reach the live store through the owner's switch-over."""
    runtime, owner = audit
    appeals = _deliveries(3)
    ends = {f"{t}:0": 10**6 for t in topics.ALL}
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in appeals for d in read])
        replay_id, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
        await store.copy_facts(conn, schema_name, _columns(appeals), first_seq=1)
        await _finish(conn, replay_id, schema_name, ends)
    target = appeals[1][2].fact.event.id
    table = f'"{schema_name}".facts'
    edits = {
        # live rows past the replay's real end would be taken for rows the log never held
        "end_offsets": (
            "UPDATE replays SET end_offsets = '{\"x:0\": 1}'::jsonb || end_offsets",
            "not what the replay sealed",
        ),
        "a rebuilt fact": (
            f"UPDATE {table} SET hash = repeat('0', 64) WHERE event_id = '{target}'",
            f"row for fact {target} fails its check",
        ),
        "a rebuilt fact deleted": (
            f"DELETE FROM {table} WHERE event_id = '{target}'",
            rf"its table \({len(_columns(appeals)) - 1} rows\) is not what the replay sealed",
        ),
    }
    for edit, refusal in edits.values():
        async with runtime.begin() as conn:  # it owns the table: the constraint goes first
            await conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT ck_facts_body_hash"))
            await conn.execute(text(edit))
        with pytest.raises(switching.SwitchOverRefused, match=refusal):
            await switching.switch_over(owner, replay_id, by="operator:test")
        async with runtime.begin() as conn:  # the edit undone, for the next one
            await conn.execute(text(f"DELETE FROM {table}"))
            await conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT ck_facts_body_hash "
                                    f"CHECK ({BODY_HASHED})"))  # fmt: skip
            await conn.execute(text("UPDATE replays SET end_offsets = :e"), {"e": json.dumps(ends)})
        async with runtime.begin() as conn:
            await store.copy_facts(conn, schema_name, _columns(appeals), first_seq=1)
    async with owner.connect() as conn:
        assert await store.list_switch_overs(conn, before=None, limit=10) == []


async def test_a_switch_over_adds_no_second_leaf_for_a_fact_the_tree_holds(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """Facts recorded again at the end of the store by a switch-over keep the leaf they had:
    the next checkpoint counts every fact once and is consistent with the one before."""
    runtime, owner = audit
    appeals = _deliveries(4)
    rows = [store.fact_row(d) for read in appeals for d in read]
    ends = {f"{t}:0": 10**6 for t in topics.ALL}
    async with runtime.begin() as conn:
        await store.add_facts(conn, rows)
        replay_id, schema_name = await store.new_replay(conn, ends)
        await store.create_projection_schema(conn, schema_name)
        await store.copy_facts(conn, schema_name, _columns(appeals), first_seq=1)
        await _finish(conn, replay_id, schema_name, ends)
    published: list[proofs.SignedCheckpoint] = []

    async def publish(made: proofs.SignedCheckpoint) -> None:
        published.append(made)

    key, now = signing.DEVELOPMENT_KEY, datetime(2026, 5, 1, tzinfo=UTC)
    first = await checkpoints.create(runtime, key, publish=publish, now=now)
    assert first is not None
    assert first.size == len(rows)

    deleted, unsealed = appeals[0][1].fact.event.id, appeals[1][3].fact.event.id
    async with owner.begin() as conn:
        await conn.execute(text("DELETE FROM facts WHERE event_id = :e"), {"e": deleted})
        await conn.execute(  # its seal no longer proves its place: recorded again at the end
            text("UPDATE facts SET seal = repeat('0', 64) WHERE event_id = :e"), {"e": unsealed}
        )
    assert await StoreCheck().run_pass(runtime) == 1  # the deleted fact: missing_fact
    record = await switching.switch_over(owner, replay_id, by="operator:test")
    assert record["report"]["recorded_again"] == 2

    later = _deliveries(1)[0]
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for d in later])
    second = await checkpoints.create(runtime, key, publish=publish, now=now)
    assert second is not None
    assert second.size == len(rows) + len(later)  # every fact once
    # Independently: the RFC 9162 root over each fact's hash, once, in first-recorded order.
    order = [d.fact.hash for read in [*appeals, later] for d in read]
    assert second.root == merkle.root([merkle.leaf_hash(h) for h in order]).hex()
    proof = await checkpoints.consistency(runtime, first.size, new=second.size)
    assert merkle.verify_consistency(
        first.size, second.size, bytes.fromhex(first.root), bytes.fromhex(second.root),
        [bytes.fromhex(p) for p in proof.proof],
    )  # fmt: skip
    assert published == [first, second]
    # Nothing is missing from the store against the tree, nor disagrees with it.
    assert await StoreCheck().run_pass(runtime) == 0
    # The receipt of the fact recorded again still proves against the new root.
    inclusion = await checkpoints.inclusion(runtime, event_id=deleted)
    assert inclusion is not None
    assert inclusion.leaf_index == 1
    assert merkle.verify_inclusion(
        merkle.leaf_hash(inclusion.fact_hash), inclusion.leaf_index, second.size,
        [bytes.fromhex(p) for p in inclusion.audit_path], bytes.fromhex(second.root),
    )  # fmt: skip
