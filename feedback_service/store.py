"""feedback's read model of dispatch's facts: who holds each work order, in which round."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from feedback_service import domain
from shared import events
from shared.runtime.eventstore import Tx
from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

holders = Table(
    "holders",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("department", String(64), nullable=False),
    Column("assigned_event_id", Uuid, nullable=False),  # the fact that handed it over
    Column("correlation_id", Uuid, nullable=False),
    Column("round", Integer, nullable=False, server_default="1"),
    Column("signed_for", Boolean, nullable=False, server_default="false"),
    # The open rating window, if any: the round it is for and when it closes (timer index).
    Column("rating_round", Integer),
    Column("rating_closes_at", DateTime(timezone=True), index=True),
)


async def hand_to(tx: Tx, event: events.Event, *, department: str, round_: int | None) -> None:
    """The work order is now with `department`, not yet signed for (in round `round_`, or
    the current round when None)."""
    values = {
        "department": department,
        "assigned_event_id": event.id,
        "correlation_id": event.correlation_id,
        "signed_for": False,
    }
    if round_ is not None:
        values["round"] = round_
    await tx.conn.execute(
        insert(holders)
        .values(appeal_id=event.subject, **values)
        .on_conflict_do_update(index_elements=["appeal_id"], set_=values)
    )


async def mark_signed_for(tx: Tx, appeal_id: UUID, *, department: str) -> None:
    await tx.conn.execute(
        update(holders)
        .where(holders.c.appeal_id == appeal_id, holders.c.department == department)
        .values(signed_for=True)
    )


async def holder(tx: Tx, appeal_id: UUID) -> domain.Holder | None:
    row = (
        await tx.conn.execute(select(holders).where(holders.c.appeal_id == appeal_id))
    ).one_or_none()
    if row is None:
        return None
    return domain.Holder(
        row.department, row.assigned_event_id, row.correlation_id, row.round, row.signed_for
    )


async def open_rating_window(tx: Tx, appeal_id: UUID, *, round_: int, closes_at: datetime) -> None:
    await tx.conn.execute(
        update(holders)
        .where(holders.c.appeal_id == appeal_id)
        .values(rating_round=round_, rating_closes_at=closes_at)
    )


async def close_rating_window(tx: Tx, appeal_id: UUID) -> None:
    await tx.conn.execute(
        update(holders)
        .where(holders.c.appeal_id == appeal_id)
        .values(rating_round=None, rating_closes_at=None)
    )


async def closed_rating_windows(
    tx: Tx, now: datetime, limit: int
) -> list[tuple[UUID, int, datetime]]:
    """Windows that have closed by `now`, locked for this transaction (other replicas skip)."""
    rows = await tx.conn.execute(
        select(holders.c.appeal_id, holders.c.rating_round, holders.c.rating_closes_at)
        .where(holders.c.rating_closes_at <= now)
        .order_by(holders.c.rating_closes_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(r.appeal_id, r.rating_round, r.rating_closes_at) for r in rows]
