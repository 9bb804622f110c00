"""The Merkle tree as stored subtree hashes: each fact's leaf, fixed once, and the nodes.

Rows are only ever added: the tree grows by appending leaves in the order facts were
recorded (facts.seq), and the nodes those leaves complete. A fact is one leaf, once: a fact
recorded again (a replay's switch-over) keeps the leaf it had."""

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.domain.merkle import Node
from audit_service.store.tables import facts, merkle_leaves, switch_over_rows


async def lock_tree(conn: AsyncConnection) -> None:
    """One writer at a time extends the tree; readers are not held up."""
    await conn.execute(text("LOCK TABLE public.merkle_leaves IN EXCLUSIVE MODE"))


async def tree_size(conn: AsyncConnection) -> tuple[int, int]:
    """How many leaves the tree has, and the seq of the last fact it took (0 for none). The
    last leaf's seq, unless its fact's row, which audit seals, says earlier: nothing seals the
    leaf's copy, and a copy edited upward would leave the facts between out of every
    checkpoint. (A switch-over may record a fact again later, never earlier.)"""
    count = (await conn.execute(select(func.count()).select_from(merkle_leaves))).scalar_one()
    held = func.least(merkle_leaves.c.seq, func.coalesce(facts.c.seq, merkle_leaves.c.seq))
    last = (
        select(held)
        .select_from(merkle_leaves.outerjoin(facts, facts.c.event_id == merkle_leaves.c.event_id))
        .order_by(merkle_leaves.c.leaf_index.desc())
        .limit(1)
    )
    return int(count), int((await conn.execute(last)).scalar() or 0)


LEAF_PLACE = ("subject", "topic", "partition", "offset")


async def facts_after(conn: AsyncConnection, seq: int, up_to: int, limit: int) -> list[Any]:
    """The rows of the next facts the tree does not hold yet, in recorded order, up to seq
    `up_to` (a fact recorded again by a switch-over keeps its leaf: it is not among them)."""
    query = (
        select(facts)
        .select_from(facts.outerjoin(merkle_leaves, merkle_leaves.c.event_id == facts.c.event_id))
        .where(facts.c.seq > seq, facts.c.seq <= up_to, merkle_leaves.c.leaf_index.is_(None))
        .order_by(facts.c.seq)
        .limit(limit)
    )  # fmt: skip
    return list(await conn.execute(query))


async def leaves_with_facts(conn: AsyncConnection, after: int, limit: int) -> list[Any]:
    """The next leaves by index, each beside the hash and seq its fact holds now (None: no
    row)."""
    query = (
        select(merkle_leaves, facts.c.hash.label("held_hash"), facts.c.seq.label("held_seq"))
        .select_from(merkle_leaves.outerjoin(facts, facts.c.event_id == merkle_leaves.c.event_id))
        .where(merkle_leaves.c.leaf_index > after)
        .order_by(merkle_leaves.c.leaf_index)
        .limit(limit)
    )
    return list(await conn.execute(query))


async def unlisted_leaves(
    conn: AsyncConnection, appeal_id: UUID, listed: Iterable[UUID]
) -> list[Any]:
    """The leaves made of facts about the appeal whose fact the store no longer lists under it
    (moved to another appeal, or deleted), but for facts a switch-over removed: the log
    never held those."""
    removed = select(switch_over_rows.c.event_id).where(switch_over_rows.c.change == "removed")
    query = (
        select(merkle_leaves)
        .where(
            merkle_leaves.c.subject == appeal_id,
            merkle_leaves.c.event_id.not_in(list(listed)),
            merkle_leaves.c.event_id.not_in(removed),
        )
        .order_by(merkle_leaves.c.leaf_index)
    )
    return list(await conn.execute(query))


async def nodes(conn: AsyncConnection, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """The stored nodes asked for, in one query: a proof's O(log n) primary-key lookups
    (a join on the keys as arrays, which the planner runs as one index probe per key)."""
    keys = sorted(set(wanted))
    if not keys:
        return {}
    rows = await conn.execute(
        text(
            "SELECT n.level, n.index, n.hash FROM unnest(CAST(:levels AS smallint[]), "
            "CAST(:indexes AS bigint[])) AS k(level, index) "
            "JOIN public.merkle_nodes AS n ON n.level = k.level AND n.index = k.index"
        ),
        {"levels": [level for level, _ in keys], "indexes": [index for _, index in keys]},
    )
    return {(r[0], r[1]): bytes(r[2]) for r in rows}


async def add(
    conn: AsyncConnection,
    leaves: Sequence[tuple[Any, ...]],
    made: Sequence[tuple[Node, bytes]],
) -> None:
    """Leaves (leaf_index, seq, event_id, fact_hash, subject, topic, partition, offset) and
    the nodes they complete, by COPY."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(
        "merkle_leaves",
        schema_name="public",
        records=leaves,
        columns=["leaf_index", "seq", "event_id", "fact_hash", *LEAF_PLACE],
    )
    await raw.copy_records_to_table(
        "merkle_nodes",
        schema_name="public",
        records=[(level, index, digest) for (level, index), digest in made],
        columns=["level", "index", "hash"],
    )


async def leaf_by_hash(conn: AsyncConnection, fact_hash: str) -> Any | None:
    query = select(merkle_leaves).where(merkle_leaves.c.fact_hash == fact_hash)
    return (await conn.execute(query.order_by(merkle_leaves.c.leaf_index).limit(1))).first()


async def leaf_by_event(conn: AsyncConnection, event_id: UUID) -> Any | None:
    query = select(merkle_leaves).where(merkle_leaves.c.event_id == event_id)
    return (await conn.execute(query)).one_or_none()
