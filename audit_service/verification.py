"""audit's own self-check over its fact store: the next slice of rows in recorded order
(wrapping at the end, so old rows are checked again and again), each read back as
domain/records.py reads it. A row that disagrees with its bytes or audit's seal becomes a
`tampered_row` finding, at the appeal its bytes name and the position its row claims, so
the appeal's history shows it even when the edit moved the row out of the appeal's
reach (its `subject` or `time` changed)."""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import sealing, store
from audit_service.domain import findings, records
from audit_service.store.tables import facts
from shared.runtime import metrics

log = logging.getLogger("hotline.audit.verification")


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
        if found:
            metrics.CHAIN_BREAKS.labels("audit").inc(len(found))
            log.error("recorded facts disagree with their bytes or seal", extra={
                "facts": len(found)})  # fmt: skip
        return len(found)

    async def run(self, runtime: Any, interval_seconds: float) -> None:
        while not runtime.stopping.is_set():
            try:
                await self.run_pass(runtime.engine)
            except Exception:
                log.exception("fact self-check failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), interval_seconds)
