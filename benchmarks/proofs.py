"""(d) Proofs from stored subtree hashes: a receipt (inclusion proof) and a consistency proof
at 1,000,000 facts against the same at 1,000, through audit's own code and database.

Each size gets its own fresh audit database, its tree written straight into `merkle_leaves`
and `merkle_nodes` by the code that extends it (synthetic fact hashes; no Kafka), and
signed checkpoints. Then PROOFS random receipts and consistency proofs are served by
`checkpoints.inclusion` / `checkpoints.consistency`, timed one by one. Run alone with
`python -m benchmarks.proofs` (needs the test stack's PostgreSQL), or within `make bench`.
"""

import asyncio
import hashlib
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from audit_service import checkpoints, store
from audit_service.domain import merkle, signing
from audit_service.main import MIGRATIONS
from audit_service.store import tree
from tests.support import infra

SIZES = (1_000, int(os.environ.get("BENCH_PROOF_FACTS", "1000000")))
PROOFS = int(os.environ.get("BENCH_PROOFS", "300"))
BATCH = 50_000


def _fact_hash(i: int) -> str:
    return hashlib.sha256(i.to_bytes(8, "big")).hexdigest()


async def _build(engine: AsyncEngine, size: int) -> None:
    """The tree of `size` synthetic facts, appended in batches as audit appends them, and
    signed checkpoints at a few sizes up to it."""
    edge: list[tuple[merkle.Node, bytes]] = []
    for lo in range(0, size, BATCH):
        hi = min(size, lo + BATCH)
        hashes = [_fact_hash(i) for i in range(lo, hi)]
        made = merkle.append(edge, [merkle.leaf_hash(h) for h in hashes])
        leaves = [
            (i, i + 1, uuid.UUID(int=i + 1), h, None, None, None, None)
            for i, h in zip(range(lo, hi), hashes, strict=True)
        ]
        async with engine.begin() as conn:
            await tree.add(conn, leaves, made)
        known = dict(edge) | dict(made)
        edge = [(node, known[node]) for node in merkle.subtrees(0, hi)]
    async with engine.connect() as conn:  # as autovacuum would, after a bulk load
        await conn.execute(text("ANALYZE merkle_nodes"))
        await conn.execute(text("ANALYZE merkle_leaves"))
        await conn.commit()
    key = signing.DEVELOPMENT_KEY
    async with engine.begin() as conn:
        for checkpoint in sorted({size // 4 + 1, size // 2 + 3, size - 7, size}):
            statement, signature = signing.sign(
                key,
                size=checkpoint,
                root=(await checkpoints.root(conn, checkpoint)).hex(),
                now=datetime.now(UTC),
            )
            await store.save_checkpoint(
                conn,
                {
                    "size": checkpoint,
                    "root": statement.root,
                    "signed_at": statement.time,
                    "key_id": statement.key_id,
                    "signature": signature,
                },
            )


async def _one_round(engine: AsyncEngine, size: int, rng: random.Random) -> tuple[float, float]:
    """One receipt and one consistency proof, each timed and checked."""
    sizes = sorted({size // 4 + 1, size // 2 + 3, size - 7, size})
    started = time.perf_counter()
    proof = await checkpoints.inclusion(engine, fact_hash=_fact_hash(rng.randrange(size)))
    inclusion = time.perf_counter() - started
    assert proof is not None
    assert merkle.verify_inclusion(
        merkle.leaf_hash(proof.fact_hash),
        proof.leaf_index,
        proof.checkpoint.size,
        [bytes.fromhex(n) for n in proof.audit_path],
        bytes.fromhex(proof.checkpoint.root),
    )
    old, new = sorted(rng.sample(sizes, 2))
    started = time.perf_counter()
    shown = await checkpoints.consistency(engine, old, new=new)
    consistency = time.perf_counter() - started
    assert merkle.verify_consistency(
        old,
        new,
        bytes.fromhex(shown.old.root),
        bytes.fromhex(shown.new.root),
        [bytes.fromhex(n) for n in shown.proof],
    )
    return inclusion, consistency


def _summary(size: int, timings: list[tuple[float, float]], built: float) -> dict[str, Any]:
    return {
        "facts": size,
        "inclusion_p50_ms": round(statistics.median(t[0] for t in timings) * 1000, 2),
        "consistency_p50_ms": round(statistics.median(t[1] for t in timings) * 1000, 2),
        "nodes_read_max": max(
            len(merkle.nodes_for(merkle.inclusion_ranges(i, size)))
            for i in (0, size // 3, size - 1)
        ),
        "build_s": round(built, 1),
    }


async def bench_proofs() -> dict[str, Any]:
    await infra.require_servers()
    engines, built = [], []
    try:
        for size in SIZES:
            engines.append(
                create_async_engine(await infra.fresh_database("bench_proofs", MIGRATIONS))
            )
            started = time.perf_counter()
            await _build(engines[-1], size)
            built.append(time.perf_counter() - started)
        # Rounds alternate between the sizes, so load from anything else on the machine
        # weighs on both alike.
        rngs = [random.Random(size) for size in SIZES]
        timings: list[list[tuple[float, float]]] = [[] for _ in SIZES]
        for _ in range(PROOFS):
            for i, size in enumerate(SIZES):
                timings[i].append(await _one_round(engines[i], size, rngs[i]))
    finally:
        for engine in engines:
            await engine.dispose()
    small, large = (_summary(s, t, b) for s, t, b in zip(SIZES, timings, built, strict=True))
    return {
        "small": small,
        "large": large,
        "inclusion_ratio": round(large["inclusion_p50_ms"] / small["inclusion_p50_ms"], 2),
        "consistency_ratio": round(large["consistency_p50_ms"] / small["consistency_p50_ms"], 2),
    }


async def main() -> None:
    from benchmarks.run import OUT

    results = await bench_proofs()
    recorded = json.loads(OUT.read_text()) if OUT.exists() else {}
    OUT.write_text(json.dumps({**recorded, "proofs": results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
