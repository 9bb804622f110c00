"""Integrity findings: recorded once per kind and position, listed in the order found, each
sealed into one chain (domain/findings.py) so that a deleted one shows."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service import sealing
from audit_service.domain import findings as domain
from audit_service.store.tables import findings
from shared.runtime import metrics
from shared.runtime.schema import parked_messages

# pg_advisory_xact_lock's key for "the findings chain": one writer at a time extends it.
FINDINGS_LOCK: Final = 0x61756469745F6E  # "audit_n"
_POSITION = ("kind", "topic", "partition", "offset")


async def add_findings(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Record findings; the same kind at the same position is recorded once (redelivery).
    Each new one is sealed after the last one recorded, under a lock held to commit (findings
    are rare: the ingest of a finding-free fact never takes it)."""
    if not rows:
        return
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FINDINGS_LOCK})
    keys = {tuple(r[c] for c in _POSITION): r for r in rows}
    held = await conn.execute(
        select(*(findings.c[c] for c in _POSITION)).where(
            tuple_(*(findings.c[c] for c in _POSITION)).in_(list(keys))
        )
    )
    for recorded in held:
        keys.pop(tuple(recorded), None)
    if not keys:
        return
    head = await conn.scalar(select(findings.c.seal).order_by(findings.c.id.desc()).limit(1))
    now, key, new = datetime.now(UTC), sealing.key(), []
    for finding in keys.values():
        sealed = {**finding, "found_at": now}
        sealed["seal"] = head = domain.seal(key, head, sealed)
        new.append(sealed)
    await conn.execute(findings.insert(), new)
    for sealed in new:
        metrics.AUDIT_FINDINGS.labels("audit", sealed["kind"]).inc()


async def findings_after(conn: AsyncConnection, after: int, limit: int) -> list[dict[str, Any]]:
    """The next findings by id (the chain in the order it was sealed)."""
    rows = await conn.execute(
        select(findings).where(findings.c.id > after).order_by(findings.c.id).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def seal_before(conn: AsyncConnection, finding_id: int) -> str | None:
    found: str | None = await conn.scalar(
        select(findings.c.seal).where(findings.c.id < finding_id)
        .order_by(findings.c.id.desc()).limit(1)
    )  # fmt: skip
    return found


async def count_findings(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(findings)) or 0)


async def finding_exists(conn: AsyncConnection, finding_id: int) -> bool:
    found = await conn.scalar(select(findings.c.id).where(findings.c.id == finding_id))
    return found is not None


async def parked_pairs(
    conn: AsyncConnection,
) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Each parked record beside the finding made of it, by position (None where one of
    the two is missing). Parked records are few: read whole."""
    place = ("topic", "partition", "offset")
    parked = parked_messages.c
    kept = await conn.execute(
        select(parked.topic, parked.partition, parked.offset, parked.body, parked.reason)
    )
    records = {tuple(r[:3]): dict(r._mapping) for r in kept}
    listed = await conn.execute(select(findings).where(findings.c.kind.in_(domain.PARKED_KINDS)))
    found = {tuple(r._mapping[c] for c in place): dict(r._mapping) for r in listed}
    return [(records.get(k), found.get(k)) for k in sorted({*records, *found})]


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
