"""Checkpoints: the Merkle root of every fact audit has recorded, signed and published.

The tree grows as stored subtree hashes (store/tree.py): a checkpoint first appends the
facts settled since the last one, then signs the root of the whole tree and publishes the
signed statement to Kafka before committing it. Proofs read O(log n) stored nodes.

An outside party that keeps a signed checkpoint can later check any fact's inclusion proof
and any later checkpoint's consistency proof with the public key alone: a fact rewritten
or dropped after the checkpoint no longer proves against the root it kept.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import sealing, store
from audit_service.domain import merkle, proofs, records, signing
from audit_service.store import tree

Publish = Callable[[proofs.SignedCheckpoint], Awaitable[None]]
BATCH = 20_000  # leaves appended per round trip while the tree catches up


async def extend_tree(engine: AsyncEngine, settled_seq: int) -> int:
    """Append the facts recorded up to seq `settled_seq` that the tree does not hold yet;
    returns the tree's size. A fact the tree already holds (recorded again at the end by a
    switch-over) keeps its leaf: a second one would count it twice and move every later
    leaf, so no earlier checkpoint would be consistent with the next.

    A leaf is made only of a fact whose row agrees with its bytes and audit's seal: a row
    written or edited past audit (its runtime role may insert) would otherwise be signed
    into the log for good. The tree stops before the first such row, keeps what came
    before, and raises `UncheckedFact`; it goes on once a switch-over has repaired it."""
    refused: str | None = None
    async with engine.begin() as conn:
        await tree.lock_tree(conn)
        have, last_seq = await tree.tree_size(conn)
        edge_nodes = merkle.subtrees(0, have)
        stored = await tree.nodes(conn, edge_nodes)
        edge = [(node, stored[node]) for node in edge_nodes]
        while refused is None and (
            rows := await tree.facts_after(conn, last_seq, settled_seq, BATCH)
        ):
            last_seq = rows[-1].seq
            # Checked off the event loop, which the worker's consume loop shares (some 14 µs
            # a row, and a batch is up to BATCH rows).
            passing, refused = await asyncio.to_thread(_passing, rows)
            new = rows[:passing]
            if not new:
                continue
            made = merkle.append(edge, [merkle.leaf_hash(r.hash) for r in new])
            leaves = [
                (have + i, r.seq, r.event_id, r.hash, *(r._mapping[c] for c in tree.LEAF_PLACE))
                for i, r in enumerate(new)
            ]
            await tree.add(conn, leaves, made)
            have += len(new)
            known = dict(edge) | dict(made)
            edge = [(node, known[node]) for node in merkle.subtrees(0, have)]
    if refused is not None:
        raise UncheckedFact(
            f"the tree stops at {have} leaves: {refused}. Nothing past it is signed until a "
            "replay's switch-over repairs the row"
        )
    return have


def _passing(rows: list[Any]) -> tuple[int, str | None]:
    """How many rows pass their check before the first that does not, and its problems."""
    key = sealing.key()
    for index, row in enumerate(rows):
        if problems := records.from_row(row._mapping, key).problems:
            return index, f"fact {row.event_id} (seq {row.seq}): {'; '.join(problems)}"
    return len(rows), None


async def root(conn: AsyncConnection, size: int) -> bytes:
    found = await tree.nodes(conn, merkle.subtrees(0, size))
    return merkle.range_hash(found, 0, size)


async def create(
    engine: AsyncEngine, key: Ed25519PrivateKey, *, publish: Publish, now: datetime
) -> proofs.SignedCheckpoint | None:
    """Checkpoint the settled facts; None when nothing was added since the last one."""
    async with engine.begin() as conn:
        settled = await store.settled_seq(conn)  # releases the lock at this commit
    size = await extend_tree(engine, settled)
    async with engine.begin() as conn:
        await store.lock_checkpoints(conn)
        latest = await store.get_checkpoint(conn, None)
        if latest is not None and latest["size"] > size:
            # Audit never signs past its tree, and the tree never shrinks: a row written past
            # audit (the runtime role may insert), or leaves deleted. Silence here would stop
            # checkpoints for good without a word.
            raise UnknownCheckpoint(
                f"the latest stored checkpoint is of {latest['size']} facts, but the tree holds "
                f"{size}: not signed by this tree; nothing is signed until it is looked into"
            )
        if size == 0 or (latest is not None and latest["size"] == size):
            return None
        new_root = await root(conn, size)
        if latest is not None:
            await _extends(conn, latest, size, new_root)
        statement, signature = signing.sign(key, size=size, root=new_root.hex(), now=now)
        pem = signing.public_pem(key.public_key())
        seal = records.key_seal(sealing.key(), key_id=statement.key_id, public_key=pem)
        await store.remember_key(conn, statement.key_id, pem, seal)
        await store.save_checkpoint(
            conn,
            {
                "size": size,
                "root": statement.root,
                "signed_at": statement.time,
                "key_id": statement.key_id,
                "signature": signature,
            },
        )
        made = proofs.signed(statement, signature)
        await publish(made)  # before the commit: nothing is served that was not published
    return made


class TreeRefused(Exception):
    """An integrity failure of the store: nothing is signed (not an outage)."""


class ForkedTree(TreeRefused):
    """The stored tree no longer extends the latest signed checkpoint: a node was edited."""


class UnknownCheckpoint(TreeRefused):
    """A stored checkpoint past the tree: not one audit signed of it."""


class UncheckedFact(TreeRefused):
    """A fact's row disagrees with its bytes or audit's seal: no leaf is made of it."""


async def _extends(conn: AsyncConnection, latest: dict[str, Any], size: int, new: bytes) -> None:
    """Refuse to sign a root that does not extend the latest signed one, checked as any
    outsider checks it (RFC 9162's consistency proof, from the stored nodes): a signed fork
    would be audit itself publishing a rewritten history."""
    proof = await _consistency_proof(conn, latest["size"], size)
    if not merkle.verify_consistency(
        latest["size"], size, bytes.fromhex(latest["root"]), new, proof
    ):
        raise ForkedTree(
            f"the tree of {size} does not extend the signed tree of {latest['size']} "
            f"(root {latest['root']}): a stored node was edited; not signed"
        )


def signed(row: dict[str, Any]) -> proofs.SignedCheckpoint:
    return proofs.SignedCheckpoint(
        size=row["size"],
        root=row["root"],
        time=row["signed_at"],
        key_id=row["key_id"],
        signature=row["signature"],
    )


async def inclusion(
    engine: AsyncEngine,
    *,
    event_id: UUID | None = None,
    fact_hash: str | None = None,
    size: int | None = None,
) -> proofs.InclusionProof | None:
    """A fact's inclusion proof against a signed checkpoint: the one of `size`, else the
    latest. Asked by event id, the proof is for the fact's hash as audit holds it now (a
    rewrite since shows as a proof that fails); asked by hash, for the leaf of that hash.
    None when there is no such checkpoint or the fact is not within it."""
    async with engine.connect() as conn:
        leaf = (
            await tree.leaf_by_event(conn, event_id)
            if event_id is not None
            else await tree.leaf_by_hash(conn, fact_hash or "")
        )
        checkpoint = await store.get_checkpoint(conn, size)
        if leaf is None or checkpoint is None or leaf.leaf_index >= checkpoint["size"]:
            return None
        ranges = merkle.inclusion_ranges(leaf.leaf_index, checkpoint["size"])
        found = await tree.nodes(conn, merkle.nodes_for(ranges))
        held = await store.fact_hash(conn, leaf.event_id) if event_id is not None else None
    return proofs.InclusionProof(
        fact_hash=held or leaf.fact_hash,
        leaf_index=leaf.leaf_index,
        audit_path=[merkle.range_hash(found, lo, hi).hex() for lo, hi in ranges],
        checkpoint=signed(checkpoint),
    )


async def consistency(engine: AsyncEngine, old: int, *, new: int | None) -> proofs.ConsistencyProof:
    """The consistency proof between two signed checkpoints (`new` absent: the latest).
    Raises LookupError for a checkpoint that does not exist, ValueError for old > new."""
    async with engine.connect() as conn:
        first = await store.get_checkpoint(conn, old)
        second = await store.get_checkpoint(conn, new)
        if first is None or second is None:
            raise LookupError(old if first is None else new)
        proof = await _consistency_proof(conn, first["size"], second["size"])
    return proofs.ConsistencyProof(
        old=signed(first), new=signed(second), proof=[node.hex() for node in proof]
    )


async def _consistency_proof(conn: AsyncConnection, old: int, new: int) -> list[bytes]:
    """RFC 9162's consistency proof from the tree of `old` leaves to that of `new`, from the
    stored nodes."""
    ranges = merkle.consistency_ranges(old, new)
    found = await tree.nodes(conn, merkle.nodes_for(ranges))
    return [merkle.range_hash(found, lo, hi) for lo, hi in ranges]
