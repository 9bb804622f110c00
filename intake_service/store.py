"""intake's read model: one row per appeal with its projected status."""

from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Uuid, select, update
from sqlalchemy.dialects.postgresql import JSONB

from shared import events
from shared.runtime.eventstore import Tx
from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

appeals = Table(
    "appeals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("appeal_type", String(20), nullable=False),
    Column("category", String(64), nullable=False, index=True),
    Column("district", String(64), index=True),
    Column("status", String(20), nullable=False),
    Column("status_round", Integer, nullable=False, server_default="1"),
    Column("status_at", DateTime(timezone=True), nullable=False),
    Column("received", JSONB, nullable=False),  # the appeal.received fact's fields
)


async def add(tx: Tx, received: events.AppealReceived) -> None:
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
