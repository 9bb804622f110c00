"""intake's tables: one row per appeal with its projected status; the versioned catalogue."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from intake_service.catalogue import Catalogue
from shared import events
from shared.runtime.eventstore import Tx
from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

appeals = Table(
    "appeals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("appeal_type", String(20), nullable=False),
    Column("category", String(64), nullable=False, index=True),
    Column("district", String(64), index=True),
    Column("status", String(20), nullable=False),
    Column("status_round", Integer, nullable=False, server_default="1"),
    Column("status_at", DateTime(timezone=True), nullable=False),
    Column("received", JSONB, nullable=False),  # the appeal.received fact's fields
    # What a channel carried beyond the fact (Open311: partner, attributes, media_url).
    Column("extras", JSONB),
)

catalogue_versions = Table(
    "catalogue_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


async def add(
    tx: Tx, received: events.AppealReceived, extras: dict[str, Any] | None = None
) -> None:
    await tx.conn.execute(
        appeals.insert().values(
            id=received.subject,
            received_at=received.time,
            channel=received.channel,
            appeal_type=received.appeal_type,
            category=received.category,
            district=received.location.district,
            status="received",
            status_at=received.time,
            received=received.model_dump(mode="json"),
            extras=extras,
        )
    )


async def get(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    row = (await tx.conn.execute(select(appeals).where(appeals.c.id == appeal_id))).one_or_none()
    return None if row is None else dict(row._mapping)


async def lock_progress(tx: Tx, appeal_id: UUID) -> tuple[int, str] | None:
    row = (
        await tx.conn.execute(
            select(appeals.c.status_round, appeals.c.status)
            .where(appeals.c.id == appeal_id)
            .with_for_update()
        )
    ).one_or_none()
    return None if row is None else (row.status_round, row.status)


async def set_progress(tx: Tx, appeal_id: UUID, progress: tuple[int, str], at: Any) -> None:
    round_, status = progress
    await tx.conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(status=status, status_round=round_, status_at=at)
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
) -> list[dict[str, Any]]:
    """Appeals newest first. `ids` overrides every other filter."""
    query = select(appeals).order_by(appeals.c.received_at.desc(), appeals.c.id).limit(limit)
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


# Published versions never change, so each is read once per process.
_catalogues: dict[int, tuple[Catalogue, datetime]] = {}


async def current_catalogue(tx: Tx) -> tuple[int, Catalogue, datetime] | None:
    """(version, catalogue, published at) of the newest version, None before the first."""
    head = (
        await tx.conn.execute(
            select(catalogue_versions.c.version, catalogue_versions.c.published_at)
            .order_by(catalogue_versions.c.version.desc())
            .limit(1)
        )
    ).one_or_none()
    if head is None:
        return None
    if (cached := _catalogues.get(head.version)) is None:
        document = await tx.conn.scalar(
            select(catalogue_versions.c.document).where(
                catalogue_versions.c.version == head.version
            )
        )
        cached = _catalogues[head.version] = (
            Catalogue.model_validate(document),
            head.published_at,
        )
    return head.version, *cached


async def publish_catalogue(tx: Tx, catalogue: Catalogue) -> int | None:
    """Store the catalogue as the next version, unless the newest one says the same."""
    document = catalogue.model_dump(mode="json")
    newest = (
        await tx.conn.execute(
            select(catalogue_versions).order_by(catalogue_versions.c.version.desc()).limit(1)
        )
    ).one_or_none()
    if newest is not None and newest.document == document:
        return None
    version = (newest.version if newest else 0) + 1
    await tx.conn.execute(catalogue_versions.insert().values(version=version, document=document))
    return version
