"""Checkpoints: the Merkle root of every fact audit has recorded, published periodically.

An outside party that keeps a checkpoint's root can later ask for any fact's inclusion
proof and verify it without trusting this service: a fact rewritten or dropped after the
checkpoint no longer proves against the root it kept.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import store
from audit_service.domain import merkle
from shared.runtime.eventstore import Database


async def create(engine: AsyncEngine) -> dict[str, Any] | None:
    """Checkpoint the settled facts; None when nothing was added since the last one."""
    async with engine.begin() as conn:
        size = await store.settled_size(conn)  # releases the lock at this commit
    async with engine.begin() as conn:
        latest = await store.get_checkpoint(conn, None)
        if size == 0 or (latest is not None and latest["size"] >= size):
            return None
        leaves = [merkle.leaf_hash(h) for h in await store.leaf_hashes(conn, size)]
        await store.save_checkpoint(conn, size, merkle.root(leaves).hex())
        return await store.get_checkpoint(conn, size)


async def sweep(db: Database, now: datetime) -> int:
    """For the periodic timer: one checkpoint if anything new was recorded."""
    del now  # a checkpoint covers what is recorded, whenever it is taken
    return 0 if await create(db.engine) is None else 1


async def proof(engine: AsyncEngine, event_id: UUID, *, size: int | None) -> dict[str, Any] | None:
    """The inclusion proof of a fact against a checkpoint (the latest when size is None);
    None when there is no such checkpoint or the fact is not within it."""
    async with engine.connect() as conn:
        checkpoint = await store.get_checkpoint(conn, size)
        found = await store.position(conn, event_id)
        if checkpoint is None or found is None or found[0] >= checkpoint["size"]:
            return None
        index, fact_hash = found
        leaves = [merkle.leaf_hash(h) for h in await store.leaf_hashes(conn, checkpoint["size"])]
    return {
        "event_id": str(event_id),
        "fact_hash": fact_hash,
        "leaf_index": index,
        "tree_size": checkpoint["size"],
        "root": checkpoint["root"],
        "audit_path": [node.hex() for node in merkle.inclusion_proof(leaves, index)],
        "algorithm": "RFC 9162 Merkle tree, SHA-256; leaf = SHA-256(0x00 || fact hash)",
    }
