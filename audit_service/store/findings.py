"""Integrity findings: recorded once per kind and position, listed in the order found."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.store.tables import findings
from shared.runtime import metrics


async def add_findings(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Record findings; the same kind at the same position is recorded once (redelivery)."""
    if rows:
        added = await conn.execute(
            insert(findings)
            .on_conflict_do_nothing(constraint="uq_findings_position")
            .returning(findings.c.kind),
            list(rows),
        )
        for kind in added.scalars():  # only those recorded now, not a redelivery's
            metrics.AUDIT_FINDINGS.labels("audit", kind).inc()


async def list_findings(
    conn: AsyncConnection,
    *,
    kind: str | None = None,
    appeal_id: UUID | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = select(findings).where(findings.c.id > after).order_by(findings.c.id).limit(limit)
    if kind is not None:
        query = query.where(findings.c.kind == kind)
    if appeal_id is not None:
        query = query.where(findings.c.appeal_id == appeal_id)
    return [dict(r._mapping) for r in await conn.execute(query)]
