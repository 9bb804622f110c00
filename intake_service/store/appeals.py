"""The appeals read model's SQL: one row per appeal, its projected status and stage times,
and what the front office searches by."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB

from intake_service.open311 import privacy
from intake_service.store import batched
from intake_service.store.tables import appeals
from shared import events
from shared.runtime.batch import BatchTx
from shared.runtime.eventstore import Tx
from shared.runtime.schema import events as outbox


def _json(value: dict[str, Any]) -> Any:
    return cast(literal(value, JSONB), JSONB)


def _patched(column: Any, patch: dict[str, Any]) -> Any:
    """`column || patch` in SQL: a JSON object with `patch`'s keys set."""
    return func.coalesce(column, _json({})).op("||")(_json(patch))


def _stage(status: str, at: datetime) -> Any:
    # status → the last time the appeal reached it (a redo reaches `assigned` again).
    return _patched(appeals.c.stages, {status: at.isoformat()})


async def get(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    if isinstance(tx, BatchTx):  # the row as the batch has moved it, not as last written
        await tx.flush()
    row = (await tx.conn.execute(select(appeals).where(appeals.c.id == appeal_id))).one_or_none()
    return None if row is None else dict(row._mapping)


async def lock_progress(tx: Tx, appeal_id: UUID) -> tuple[int, str] | None:
    if isinstance(tx, BatchTx):  # a consume batch locks its appeals' rows in one statement
        return await batched.lock_progress(tx, appeal_id)
    row = (
        await tx.conn.execute(
            select(appeals.c.status_round, appeals.c.status)
            .where(appeals.c.id == appeal_id)
            .with_for_update()
        )
    ).one_or_none()
    return None if row is None else (row.status_round, row.status)


async def set_progress(tx: Tx, appeal_id: UUID, progress: tuple[int, str], at: datetime) -> None:
    round_, status = progress
    if isinstance(tx, BatchTx):  # written at the batch's flush, one statement for all
        stages = {status: at.isoformat()}
        await batched.change(
            tx, appeal_id, status=status, status_round=round_, status_at=at, stages=stages
        )
        return
    await tx.conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(status=status, status_round=round_, status_at=at, stages=_stage(status, at))
    )


async def set_department(tx: Tx, appeal_id: UUID, department: str) -> None:
    if isinstance(tx, BatchTx):
        await batched.change(tx, appeal_id, department=department)
        return
    await tx.conn.execute(
        update(appeals).where(appeals.c.id == appeal_id).values(department=department)
    )


async def set_outcome(tx: Tx, appeal_id: UUID, outcome: dict[str, Any] | None) -> None:
    await tx.conn.execute(update(appeals).where(appeals.c.id == appeal_id).values(outcome=outcome))


async def set_classification(tx: Tx, appeal_id: UUID, classified: events.AppealClassified) -> None:
    override = {
        "by": classified.actor,
        "at": classified.time.isoformat(),
        "reason": classified.reason,
        "previous_category": classified.previous_category,
    }
    await tx.conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(
            category=classified.category,
            appeal_type=classified.appeal_type,
            urgency=classified.urgency,
            classification=_patched(appeals.c.classification, {"override": override}),
        )
    )


async def set_merged(tx: Tx, appeal_id: UUID, parent: UUID | None, at: datetime) -> None:
    """Merged follows the parent; unmerged is back at the front office (received)."""
    status = "received" if parent is None else "merged"
    if isinstance(tx, BatchTx):  # written around the batch's view of the rows: read again
        await tx.flush()
        batched.forget(tx, appeal_id, parent)
    await tx.conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(merged_into=parent, status=status, status_at=at, stages=_stage(status, at))
    )


async def children(tx: Tx, parent: UUID) -> list[UUID]:
    if isinstance(tx, BatchTx):  # a consume batch reads its appeals' children at once
        return await batched.children(tx, parent)
    rows = await tx.conn.execute(
        select(appeals.c.id).where(appeals.c.merged_into == parent).order_by(appeals.c.received_at)
    )
    return [r.id for r in rows]


async def joined_or_joining(tx: Tx, parent: UUID) -> bool:
    """Whether any appeal is merged into `parent`, or waits to be (its merge asked for, its
    work order's withdrawal pending): either follows the parent's handling."""
    pending = (appeals.c.outcome["withdrawal"].astext == "pending") & (
        appeals.c.outcome["parent"].astext == str(parent)
    )
    found = await tx.conn.execute(
        select(appeals.c.id).where((appeals.c.merged_into == parent) | pending).limit(1)
    )
    return found.first() is not None


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    appeal_type: str | None = None
    category: str | None = None
    district: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    department: str | None = None  # a department sees only appeals dispatched to it


async def list_appeals(
    tx: Tx, filters: Filters, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on (received_at, id)."""
    query = select(appeals).order_by(appeals.c.received_at.desc(), appeals.c.id.desc()).limit(limit)
    for column in ("status", "appeal_type", "category", "district", "channel", "department"):
        if (value := getattr(filters, column)) is not None:
            query = query.where(appeals.c[column] == value)
    if filters.since is not None:
        query = query.where(appeals.c.received_at >= filters.since)
    if filters.until is not None:
        query = query.where(appeals.c.received_at < filters.until)
    if after is not None:
        query = query.where(
            func.row(appeals.c.received_at, appeals.c.id) < func.row(after[0], after[1])
        )
    return [dict(row._mapping) for row in await tx.conn.execute(query)]


def publishable() -> Any:
    """open311.privacy.may_publish in SQL, so a page of the public feed holds only appeals
    that may be public: not a report (as received or as classified now), not anonymous, and
    with the citizen's consent (implied only on the channels privacy names); and not erased:
    what staff wrote may name the citizen, and once erased no name is left to mask it with."""
    citizen = appeals.c.received["citizen"]
    consent = citizen["public_consent"].astext
    return (
        appeals.c.personal_data_erased_at.is_(None)
        & (appeals.c.appeal_type.not_in(sorted(privacy.NEVER_PUBLIC_TYPES)))
        & (appeals.c.received["appeal_type"].astext.not_in(sorted(privacy.NEVER_PUBLIC_TYPES)))
        & (citizen["anonymous"].astext == "false")
        & (
            (consent == "true")
            | (consent.is_(None) & appeals.c.channel.in_(sorted(privacy.IMPLIED_CONSENT_CHANNELS)))
        )
    )


async def find(
    tx: Tx,
    *,
    ids: Sequence[UUID] | None = None,
    categories: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    closed: bool | None = None,
    limit: int = 1000,
    hidden_prefix: str | None = None,
) -> list[dict[str, Any]]:
    """Appeals that may be public, newest first (Open311's query). `ids` overrides every
    other filter but `hidden_prefix`: no appeal whose category starts with it is ever found."""
    query = (
        select(appeals)
        .where(publishable())
        .order_by(appeals.c.received_at.desc(), appeals.c.id)
        .limit(limit)
    )
    if hidden_prefix is not None:
        query = query.where(~appeals.c.category.startswith(hidden_prefix))
    if ids is not None:
        query = query.where(appeals.c.id.in_(list(ids)))
    else:
        if categories:
            query = query.where(appeals.c.category.in_(list(categories)))
        if since is not None:
            query = query.where(appeals.c.received_at >= since)
        if until is not None:
            query = query.where(appeals.c.received_at <= until)
        if closed is not None:
            query = query.where(
                appeals.c.status == "closed" if closed else appeals.c.status != "closed"
            )
    return [dict(row._mapping) for row in await tx.conn.execute(query)]


async def received_hash(tx: Tx, appeal_id: UUID) -> str | None:
    """The hash of the appeal's `appeal.received` fact, as its outbox recorded it: what a
    citizen's receipt proves was accepted."""
    query = (
        select(outbox.c.hash)
        .where(outbox.c.stream_id == appeal_id, outbox.c.type == "appeal.received")
        .order_by(outbox.c.version)
        .limit(1)
    )
    found = await tx.conn.scalar(query)
    return None if found is None else str(found)
