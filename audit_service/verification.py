"""audit's own self-checks over its stores, a bounded slice per pass, wrapping round at the
end so old rows are checked again and again.

`FactCheck` reads the next facts in recorded order as domain/records.py reads them: a row
that disagrees with its bytes or audit's seal becomes a `tampered_row` finding, at the appeal
its bytes name and the position its row claims, so the appeal's history shows it even when
the edit moved the row out of the appeal's reach (its `subject` or `time` changed).

`StoreCheck` looks for rows deleted from audit's stores: each Merkle leaf's fact must still
be in the store with the hash the leaf holds (`missing_fact`, `rewritten_fact`, at the
appeal and position the leaf kept); the findings must form an unbroken seal chain, and the
last one seen must still be there (`missing_finding`); every parked record must have its
finding, every such finding its record, and the two must agree (`missing_parked`). The
number of findings held is exported (`hotline_audit_findings_stored`): Prometheus keeps it
across restarts, so findings deleted while audit was stopped show as a drop."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import sealing, store
from audit_service.domain import findings, records
from audit_service.store import findings as findings_db
from audit_service.store import tree
from audit_service.store.tables import facts
from shared.runtime import metrics

log = logging.getLogger("hotline.audit.verification")


def _report(found: list[dict[str, Any]], what: str) -> None:
    if found:
        metrics.CHAIN_BREAKS.labels("audit").inc(len(found))
        log.error(what, extra={"findings": len(found)})


@dataclass
class FactCheck:
    batch: int = 1000
    cursor: int = 0

    async def run_pass(self, engine: AsyncEngine) -> int:
        """Check one slice; returns how many findings it recorded (or saw again)."""
        async with engine.begin() as conn:
            rows = list(
                await conn.execute(
                    select(facts).where(facts.c.seq > self.cursor).order_by(facts.c.seq)
                    .limit(self.batch)
                )
            )  # fmt: skip
            found: list[dict[str, Any]] = []
            for row in rows:
                fact = records.from_row(row._mapping, sealing.key())
                if fact.problems:
                    finding = findings.tampered(fact, seq=row.seq)
                    found.append(finding.row(row.topic, row.partition, row.offset))
            await store.add_findings(conn, found)
        self.cursor = rows[-1].seq if len(rows) == self.batch else 0
        _report(found, "recorded facts disagree with their bytes or seal")
        return len(found)

    async def run(self, runtime: Any, interval_seconds: float) -> None:
        store_check = StoreCheck(batch=self.batch)
        while not runtime.stopping.is_set():
            try:
                await self.run_pass(runtime.engine)
                await store_check.run_pass(runtime.engine)
            except Exception:
                log.exception("fact self-check failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), interval_seconds)


def _leaf_finding(leaf: Any) -> dict[str, Any] | None:
    # A switch-over may record a fact again, later (switch_over.py); a leaf placing its fact
    # later than its sealed row was edited.
    if leaf.held_hash == leaf.fact_hash and (leaf.held_seq is None or leaf.seq <= leaf.held_seq):
        return None
    where = f"Merkle leaf {leaf.leaf_index} (fact {leaf.event_id}, recorded as #{leaf.seq})"
    kind: findings.Kind
    if leaf.held_hash is None:
        kind, detail = findings.MISSING_FACT, f"{where}: the fact is gone from the store"
    elif leaf.held_hash != leaf.fact_hash:
        kind = findings.REWRITTEN_FACT
        detail = f"{where}: the store holds hash {leaf.held_hash}, the tree {leaf.fact_hash}"
    else:  # the tree resumes from its last leaf's seq: facts between could be left out
        kind, detail = findings.MOVED_LEAF, f"{where}: the fact's sealed row is #{leaf.held_seq}"
    found = findings.Finding(kind, detail, leaf.subject, leaf.event_id)
    # Leaves made before they kept their place are reported at the leaf itself.
    if leaf.topic is None:
        return found.row("audit:merkle_leaves", 0, leaf.leaf_index)
    return found.row(leaf.topic, leaf.partition, leaf.offset)


@dataclass
class StoreCheck:
    batch: int = 1000
    leaf_cursor: int = -1
    finding_cursor: int = 0
    last_seal: str | None = None
    last_seen: dict[str, Any] | None = None  # the newest finding seen: deleting it shows

    async def run_pass(self, engine: AsyncEngine) -> int:
        """Check the next slice of leaves and of findings, and the parked records; returns
        how many findings it recorded (or saw again)."""
        async with engine.begin() as conn:
            found = await self._leaves(conn) + await self._findings(conn)
            pairs = await findings_db.parked_pairs(conn)
            found += [row for pair in pairs if (row := findings.parked_pair(*pair)) is not None]
            await store.add_findings(conn, found)
            stored = await findings_db.count_findings(conn)
        metrics.AUDIT_FINDINGS_STORED.labels("audit").set(stored)
        _report(found, "rows are missing from audit's stores")
        return len(found)

    async def _leaves(self, conn: AsyncConnection) -> list[dict[str, Any]]:
        leaves = await tree.leaves_with_facts(conn, self.leaf_cursor, self.batch)
        self.leaf_cursor = leaves[-1].leaf_index if len(leaves) == self.batch else -1
        return [row for leaf in leaves if (row := _leaf_finding(leaf)) is not None]

    async def _findings(self, conn: AsyncConnection) -> list[dict[str, Any]]:
        found = []
        seen = self.last_seen
        if seen is not None and not await findings_db.finding_exists(conn, seen["id"]):
            found.append(findings.missing_finding(seen).row(seen["topic"], seen["partition"],
                                                            seen["offset"]))  # fmt: skip
            self.last_seen = None
        rows = await findings_db.findings_after(conn, self.finding_cursor, self.batch)
        if rows and self.finding_cursor == 0:
            self.last_seal = None
        elif rows and self.last_seal is None:  # a fresh process, mid-table
            self.last_seal = await findings_db.seal_before(conn, rows[0]["id"])
        self.last_seal, broken = findings.chain_breaks(sealing.key(), self.last_seal, rows)
        found += [
            findings.missing_finding(row).row(row["topic"], row["partition"], row["offset"])
            for row in broken
        ]
        if rows and (self.last_seen is None or rows[-1]["id"] > self.last_seen["id"]):
            self.last_seen = rows[-1]
        self.finding_cursor = rows[-1]["id"] if len(rows) == self.batch else 0
        return found
