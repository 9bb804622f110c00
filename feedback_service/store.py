"""feedback's read model of dispatch's facts: who holds each work order now."""

from uuid import UUID

from sqlalchemy import Column, MetaData, String, Table, Uuid, select
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
    Column("assigned_event_id", Uuid, nullable=False),
    Column("correlation_id", Uuid, nullable=False),
)


async def record_assignment(tx: Tx, assigned: events.Assigned) -> None:
    # dispatch's facts about one appeal share a partition and the inbox applies them in
    # offset order, so the latest assignment applied is the latest one made.
    values = {
        "department": assigned.department,
        "assigned_event_id": assigned.id,
        "correlation_id": assigned.correlation_id,
    }
    await tx.conn.execute(
        insert(holders)
        .values(appeal_id=assigned.subject, **values)
        .on_conflict_do_update(index_elements=["appeal_id"], set_=values)
    )


async def holder(tx: Tx, appeal_id: UUID) -> domain.Holder | None:
    row = (
        await tx.conn.execute(select(holders).where(holders.c.appeal_id == appeal_id))
    ).one_or_none()
    if row is None:
        return None
    return domain.Holder(row.department, row.assigned_event_id, row.correlation_id)
