"""Someone with database access deletes rows from audit's own stores: a fact the Merkle
tree holds, a finding (in the middle of the chain, and the last one), a parked record (and
edits another).
audit's store check reports each, at the appeal and position it concerned."""

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import checkpoints, handlers, store
from audit_service.domain import findings, merkle, proofs, signing
from audit_service.routes import proofs as proofs_routes
from audit_service.store import tree
from audit_service.verification import FactCheck, StoreCheck
from shared import envelope, topics
from shared.runtime import database, deliveries
from tests.integration.test_tamper import _deliveries, audit
from tests.support import tampering

pytestmark = pytest.mark.integration
__all__ = ["audit"]


async def _park(engine: AsyncEngine, offset: int, body: bytes) -> None:
    record = SimpleNamespace(topic=topics.BY_SOURCE["dispatch"], partition=3, offset=offset,
                             key=None, value=body)  # fmt: skip
    async with database.Database(engine).transaction() as tx:
        await deliveries.park(
            tx.conn, group="audit", topic=record.topic, partition=record.partition,
            offset=record.offset, key=None, body=body, reason="not a fact",
        )  # fmt: skip
        await handlers.on_park(record, "not a fact", tx)


async def _found(engine: AsyncEngine, kind: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return await store.list_findings(conn, kind=kind, limit=1000)


async def test_a_deleted_fact_finding_or_parked_record_is_reported(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    appeals = _deliveries(3)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in appeals for d in read])
    async with runtime.begin() as conn:
        settled = await store.settled_seq(conn)
    assert await checkpoints.extend_tree(runtime, settled) == 15
    for offset in range(4):
        await _park(runtime, offset, b'{"subject": "%d"}' % offset)
    check = StoreCheck(batch=4)  # bounded slices, wrapping round
    assert [await check.run_pass(runtime) for _ in range(5)] == [0] * 5
    stored = {"service": "audit"}
    assert REGISTRY.get_sample_value("hotline_audit_findings_stored", stored) == 4

    lost = appeals[1][2]  # a fact the tree holds
    rewritten = appeals[2][1].fact.event
    forged = envelope.digest(b"rewritten")
    async with owner.begin() as conn:
        await conn.execute(text("DELETE FROM facts WHERE event_id = :e"), {"e": lost.fact.event.id})
        await tampering.unchecked(conn)
        await conn.execute(  # body and hash rewritten together: the bytes hash to the hash
            text("UPDATE facts SET hash = :h WHERE event_id = :e"),
            {"h": forged, "e": rewritten.id},
        )
        await conn.execute(text('DELETE FROM findings WHERE "offset" = 1'))  # mid-chain
        await conn.execute(text('DELETE FROM parked_messages WHERE "offset" = 2'))
        await conn.execute(text('DELETE FROM findings WHERE "offset" = 3'))  # the last one
        await conn.execute(text("UPDATE parked_messages SET reason = 'fine' WHERE \"offset\" = 0"))
    for _ in range(5):
        await check.run_pass(runtime)

    [missing] = await _found(runtime, findings.MISSING_FACT)
    assert missing["appeal_id"] == lost.fact.event.subject
    assert missing["event_id"] == lost.fact.event.id
    position = (missing["topic"], missing["partition"], missing["offset"])
    assert position == (lost.topic, lost.partition, lost.offset)
    [changed] = await _found(runtime, findings.REWRITTEN_FACT)
    assert changed["event_id"] == rewritten.id
    assert changed["appeal_id"] == rewritten.subject
    assert forged in changed["detail"]
    chain = await _found(runtime, findings.MISSING_FINDING)
    assert {f["offset"] for f in chain} == {2, 3}  # the one after the gap, the lost last one
    parked = {f["offset"]: f["detail"] for f in await _found(runtime, findings.MISSING_PARKED)}
    assert set(parked) == {0, 1, 2, 3}
    assert parked[2].endswith("has lost its parked record")
    assert parked[1].endswith("has lost its finding")
    assert parked[0].endswith("and its finding disagree: one was edited")
    # The facts' own check sees the rewrite too (the seal covers the hash).
    assert await FactCheck(batch=1000).run_pass(runtime) == 1


async def test_a_findings_chain_survives_a_fresh_process_and_catches_an_edit(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    for offset in range(6):
        await _park(runtime, offset, b"x")
    assert await StoreCheck(batch=2).run_pass(runtime) == 0
    middle = StoreCheck(batch=2, finding_cursor=2)  # a new process, cursor mid-table
    assert await middle.run_pass(runtime) == 0
    async with owner.begin() as conn:
        await conn.execute(text("UPDATE findings SET detail = 'nothing' WHERE \"offset\" = 4"))
    for _ in range(4):
        await middle.run_pass(runtime)
    [edited] = await _found(runtime, findings.MISSING_FINDING)
    assert edited["offset"] == 4


async def test_the_newest_findings_deleted_while_audit_is_stopped_show_in_the_count(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The chain then ends clean (and their parked records went too): only the count audit
    exported before, which Prometheus keeps, shows the drop (the AuditFindingsDeleted alert)."""
    runtime, owner = audit
    for offset in range(4):
        await _park(runtime, offset, b"x")
    stored = {"service": "audit"}
    assert await StoreCheck().run_pass(runtime) == 0
    assert REGISTRY.get_sample_value("hotline_audit_findings_stored", stored) == 4
    async with owner.begin() as conn:
        await conn.execute(text('DELETE FROM findings WHERE "offset" >= 2'))
        await conn.execute(text('DELETE FROM parked_messages WHERE "offset" >= 2'))
    assert await StoreCheck().run_pass(runtime) == 0  # a fresh process sees nothing wrong
    assert REGISTRY.get_sample_value("hotline_audit_findings_stored", stored) == 2


async def test_a_leaf_moved_later_is_reported_and_leaves_no_fact_out_of_the_tree(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    first, later = _deliveries(2), _deliveries(2)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in first for d in read])
        settled = await store.settled_seq(conn)
    assert await checkpoints.extend_tree(runtime, settled) == 10
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in later for d in read])
        settled = await store.settled_seq(conn)
    # The last leaf's seq (nothing seals it) set past the facts not yet in the tree: the
    # tree would resume after them and no checkpoint would ever hold them.
    async with owner.begin() as conn:
        await conn.execute(
            text("UPDATE merkle_leaves SET seq = :s WHERE leaf_index = 9"), {"s": settled + 5}
        )
    assert await checkpoints.extend_tree(runtime, settled) == 20  # every fact, none skipped
    await StoreCheck(batch=1000).run_pass(runtime)
    [moved] = await _found(runtime, findings.MOVED_LEAF)
    assert moved["event_id"] == first[1][-1].fact.event.id
    assert f"#{settled + 5})" in moved["detail"]


async def test_no_leaf_is_made_of_a_row_that_fails_its_check(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A fact's hash edited before the tree took it: a leaf of it would be signed for good
    (and the genuine hash never get one). The tree stops before it until it is repaired."""
    runtime, owner = audit
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in _deliveries(2) for d in read])
        settled = await store.settled_seq(conn)
        seqs = [r[0] for r in await conn.execute(text("SELECT seq FROM facts ORDER BY seq"))]
    edited = seqs[3]
    async with owner.begin() as conn:
        genuine = (
            await conn.execute(text("SELECT hash FROM facts WHERE seq = :s"), {"s": edited})
        ).scalar_one()
        await tampering.unchecked(conn)
        await conn.execute(
            text("UPDATE facts SET hash = :h WHERE seq = :s"), {"h": "0" * 64, "s": edited}
        )
    with pytest.raises(checkpoints.UncheckedFact, match=f"stops at 3 leaves.*seq {edited}"):
        await checkpoints.extend_tree(runtime, settled)
    async with runtime.begin() as conn:
        assert (await tree.tree_size(conn))[0] == 3  # what came before is kept
    async with owner.begin() as conn:
        await conn.execute(
            text("UPDATE facts SET hash = :h WHERE seq = :s"), {"h": genuine, "s": edited}
        )
    assert await checkpoints.extend_tree(runtime, settled) == len(seqs)


def _publisher() -> tuple[list[proofs.SignedCheckpoint], checkpoints.Publish]:
    """What checkpoints would publish to Kafka, kept in a list instead."""
    published: list[proofs.SignedCheckpoint] = []

    async def publish(made: proofs.SignedCheckpoint) -> None:
        published.append(made)

    return published, publish


async def test_a_tree_edited_under_a_signed_checkpoint_is_not_signed_again(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    runtime, owner = audit
    published, publish = _publisher()
    key, now = signing.DEVELOPMENT_KEY, datetime(2026, 5, 1, tzinfo=UTC)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in _deliveries(2) for d in read])
    first = await checkpoints.create(runtime, key, publish=publish, now=now)
    assert first is not None
    # The right edge of the signed tree, rewritten: the next tree grows from that edge.
    level, index = merkle.subtrees(0, first.size)[-1]
    async with owner.begin() as conn:
        await conn.execute(
            text("UPDATE merkle_nodes SET hash = :h WHERE level = :l AND index = :i"),
            {"h": bytes(32), "l": level, "i": index},
        )
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for d in _deliveries(1)[0]])
    with pytest.raises(checkpoints.ForkedTree, match=f"signed tree of {first.size}"):
        await checkpoints.create(runtime, key, publish=publish, now=now)
    assert published == [first]  # nothing signed, nothing published


async def test_a_checkpoint_stored_past_the_tree_stops_signing_loudly(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A row the runtime role inserted, of a size the tree never had: checkpoints used to
    stop silently ("nothing new"), for good."""
    runtime, _ = audit
    published, publish = _publisher()
    key, now = signing.DEVELOPMENT_KEY, datetime(2026, 5, 1, tzinfo=UTC)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in _deliveries(2) for d in read])
        await store.save_checkpoint(
            conn,
            {"size": 2**62, "root": "0" * 64, "signed_at": now, "key_id": "x", "signature": "0"},
        )
    past = f"of {2**62} facts, but the tree holds 10"
    with pytest.raises(checkpoints.UnknownCheckpoint, match=past):
        await checkpoints.create(runtime, key, publish=publish, now=now)
    assert published == []


async def test_a_fact_moved_off_its_appeal_is_still_named_by_the_tree(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A stream's last fact given another appeal's id leaves no gap in its chain; the leaf
    the tree made of it still names its appeal, and the history's chain fails on it."""
    runtime, owner = audit
    appeals = _deliveries(2)
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for read in appeals for d in read])
        settled = await store.settled_seq(conn)
    await checkpoints.extend_tree(runtime, settled)
    moved = appeals[0][-1].fact.event
    mine, other = moved.subject, appeals[1][0].fact.event.subject
    async with owner.begin() as conn:
        await conn.execute(
            text("UPDATE facts SET subject = :s WHERE event_id = :e"), {"s": other, "e": moved.id}
        )
    async with runtime.connect() as conn:
        listed = [fact.event_id for fact, _ in await store.appeal_facts(conn, mine)]
        [leaf] = await tree.unlisted_leaves(conn, mine, listed)
        theirs = [fact.event_id for fact, _ in await store.appeal_facts(conn, other)]
        assert await tree.unlisted_leaves(conn, other, theirs) == []
    assert moved.id not in listed
    assert (leaf.event_id, leaf.subject) == (moved.id, mine)


async def test_only_keys_audit_sealed_are_served_to_verifiers(
    audit: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The runtime role may add rows to `signing_keys`; verifiers pick the key a checkpoint
    names from what audit serves, so a key added behind audit's back must not be served."""
    runtime, _ = audit
    _, publish = _publisher()
    earlier, now = signing.DEVELOPMENT_KEY, datetime(2026, 5, 1, tzinfo=UTC)
    insert = text("INSERT INTO signing_keys (key_id, public_key, seal) VALUES (:k, :p, :s)")
    async with runtime.begin() as conn:
        await store.add_facts(conn, [store.fact_row(d) for d in _deliveries(1)[0]])
        # recorded before keys were sealed: sealed by the next checkpoint signed with it
        legacy = {"k": signing.key_id(earlier.public_key()), "s": None}
        await conn.execute(insert, {**legacy, "p": signing.public_pem(earlier.public_key())})
    assert await checkpoints.create(runtime, earlier, publish=publish, now=now) is not None
    forged = [Ed25519PrivateKey.generate().public_key() for _ in range(2)]
    async with runtime.begin() as conn:
        for key, seal in zip(forged, (None, "0" * 64), strict=True):
            await conn.execute(
                insert, {"k": signing.key_id(key), "p": signing.public_pem(key), "s": seal}
            )
    current = Ed25519PrivateKey.generate()  # rotated since: configured, not yet recorded
    audit_runtime: Any = SimpleNamespace(
        engine=runtime, settings=SimpleNamespace(signing_key=lambda: current)
    )
    served = await proofs_routes.public_key(audit_runtime)

    assert served.current.key_id == signing.key_id(current.public_key())
    assert [k.key_id for k in served.keys] == [
        signing.key_id(earlier.public_key()),
        signing.key_id(current.public_key()),
    ]
