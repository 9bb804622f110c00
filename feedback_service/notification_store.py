"""The notification tables and all their SQL: whom each appeal was filed by, partners'
subscriptions, and deliveries (the outbox of webhooks, written in the transaction of the
fact that triggers them, sent and retried by `feedback_service.sender`)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from feedback_service.store import metadata
from shared import events
from shared.runtime.eventstore import Tx

appeals = Table(
    "appeals",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("filed_by", String(200), nullable=False, index=True),  # appeal.received's actor
    Column("channel", String(30), nullable=False),
    Column("citizen_phone", String(30)),  # for the citizen's channel to reach them
    Column("extension_reason", Text),  # the pending extension's reason, for the notice
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("filer", String(200), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),  # the webhook-id, the same on every retry
    Column("subscription_id", Uuid),  # None: a notice to the citizen's channel
    Column("channel", String(30)),  # the citizen's channel, for notices
    Column("appeal_id", Uuid, nullable=False, index=True),
    Column("event_id", Uuid, nullable=False),  # the fact that triggered it
    Column("kind", String(50), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("body", Text, nullable=False),  # the exact bytes signed and sent
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("subscription_id", "event_id", "kind", name="uq_deliveries_once"),
    Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
)


async def remember_appeal(tx: Tx, event: events.AppealReceived) -> None:
    phone = event.citizen.phone
    await tx.conn.execute(
        insert(appeals)
        .values(
            appeal_id=event.subject,
            filed_by=event.actor,
            channel=event.channel,
            citizen_phone=phone,
        )
        .on_conflict_do_nothing()
    )


async def appeal(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    row = (
        await tx.conn.execute(select(appeals).where(appeals.c.appeal_id == appeal_id))
    ).one_or_none()
    return None if row is None else dict(row._mapping)


async def note_extension_reason(tx: Tx, appeal_id: UUID, reason: str) -> None:
    await tx.conn.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(extension_reason=reason)
    )


async def subscribers(tx: Tx, appeal_id: UUID) -> list[dict[str, Any]]:
    """Active subscriptions of whoever filed the appeal."""
    rows = await tx.conn.execute(
        select(subscriptions.c.id, subscriptions.c.url)
        .join(appeals, appeals.c.filed_by == subscriptions.c.filer)
        .where(appeals.c.appeal_id == appeal_id, subscriptions.c.active)
    )
    return [dict(r._mapping) for r in rows]


async def enqueue(tx: Tx, **values: Any) -> None:
    await tx.conn.execute(
        insert(deliveries)
        .values(status="pending", attempts=0, next_attempt_at=values["created_at"], **values)
        .on_conflict_do_nothing()
    )


async def create_subscription(tx: Tx, **values: Any) -> None:
    await tx.conn.execute(subscriptions.insert().values(active=True, **values))


async def list_subscriptions(tx: Tx, filer: str) -> list[dict[str, Any]]:
    rows = await tx.conn.execute(
        select(subscriptions)
        .where(subscriptions.c.filer == filer, subscriptions.c.active)
        .order_by(subscriptions.c.created_at)
    )
    return [dict(r._mapping) for r in rows]


async def subscription(tx: Tx, subscription_id: UUID) -> dict[str, Any] | None:
    row = (
        await tx.conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id))
    ).one_or_none()
    return None if row is None else dict(row._mapping)


async def deactivate(tx: Tx, subscription_id: UUID) -> None:
    await tx.conn.execute(
        update(subscriptions).where(subscriptions.c.id == subscription_id).values(active=False)
    )


async def list_deliveries(
    tx: Tx, *, subscription_id: UUID | None = None, appeal_id: UUID | None = None, limit: int
) -> list[dict[str, Any]]:
    query = select(deliveries).order_by(deliveries.c.created_at, deliveries.c.id).limit(limit)
    if subscription_id is not None:
        query = query.where(deliveries.c.subscription_id == subscription_id)
    if appeal_id is not None:
        query = query.where(deliveries.c.appeal_id == appeal_id)
    return [dict(r._mapping) for r in await tx.conn.execute(query)]


async def claim_due(
    tx: Tx, *, now: datetime, lease_until: datetime, limit: int
) -> list[dict[str, Any]]:
    """Pending deliveries due by `now`, each with its signing secret (None: the citizen
    channel's), leased until `lease_until` so no other sender takes them meanwhile."""
    rows = (
        await tx.conn.execute(
            select(deliveries, subscriptions.c.secret, subscriptions.c.active)
            .outerjoin(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(of=deliveries, skip_locked=True)
        )
    ).all()
    if rows:
        await tx.conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_([r.id for r in rows]))
            .values(next_attempt_at=lease_until)
        )
    return [dict(r._mapping) for r in rows]


async def record_attempt(tx: Tx, delivery_id: UUID, **values: Any) -> None:
    await tx.conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
