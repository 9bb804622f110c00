"""The notifications' SQL: whom each appeal was filed by, partners'
subscriptions, and deliveries (the outbox of webhooks, written in the transaction of the
fact that triggers them, sent and retried by `feedback_service.sender`)."""

from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import null, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from feedback_service.store import batched
from feedback_service.store.tables import appeals, deliveries, subscriptions
from shared import events, personal_data
from shared.runtime.batch import BatchTx
from shared.runtime.eventstore import Tx

# SQL text on the driver (Tx.driver): read by every command, or with the appeal it is on.
_OF_THE_FILER = (
    "FROM subscriptions s JOIN appeals a ON a.filed_by = s.filer"
    " WHERE a.appeal_id = $1 AND s.active"
)
_SUBSCRIBERS = f"SELECT s.id, s.url {_OF_THE_FILER}"
SUBSCRIBERS_JSON = (
    "SELECT coalesce(json_agg(json_build_object('id', s.id, 'url', s.url)), '[]') " + _OF_THE_FILER
)
_APPEAL = f"SELECT {', '.join(c.name for c in appeals.columns)} FROM appeals WHERE appeal_id = $1"
_READ: Final = "feedback.subscribers"  # Tx.memo: appeal id -> its subscribers, read already


async def remember_appeal(tx: Tx, event: events.AppealReceived) -> None:
    sealed = event.personal_data
    key_id = next(
        (s.key_id for s in (sealed, event.sealed_content) if isinstance(s, personal_data.Sealed)),
        None,
    )
    row = {
        "appeal_id": event.subject,
        "filed_by": event.actor,
        "channel": event.channel,
        "personal_data": None if sealed is None else sealed.model_dump(mode="json"),
        "key_id": key_id,
    }
    if isinstance(tx, BatchTx):  # a consume batch writes its appeals in one statement
        batched.remember_appeal(tx, row)
        return
    await tx.conn.execute(insert(appeals).values(**row).on_conflict_do_nothing())


async def key_of(tx: Tx, appeal_id: UUID) -> UUID | None:
    """The citizen's data key id, if the appeal was filed sealed (v3 and later)."""
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
    found = await tx.conn.execute(select(appeals.c.key_id).where(appeals.c.appeal_id == appeal_id))
    return found.scalar_one_or_none()


async def forget_personal_data(tx: Tx, appeal_id: UUID) -> None:
    """The citizen was erased: no copy of their sealed data stays, sent or not (SQL NULL:
    None would be stored as JSON null)."""
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
    await tx.conn.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(personal_data=null())
    )
    await tx.conn.execute(
        update(deliveries).where(deliveries.c.appeal_id == appeal_id).values(personal_data=null())
    )


async def appeal(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    """Whom the appeal was filed by and how to reach them: every approval reads it."""
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
    row = await tx.driver.fetchrow(_APPEAL, appeal_id)
    return None if row is None else dict(row)


async def note_extension_reason(tx: Tx, appeal_id: UUID, reason: str) -> None:
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
    await tx.conn.execute(
        update(appeals).where(appeals.c.appeal_id == appeal_id).values(extension_reason=reason)
    )


async def subscribers(tx: Tx, appeal_id: UUID) -> list[dict[str, Any]]:
    """Active subscriptions of whoever filed the appeal."""
    if isinstance(tx, BatchTx):  # read for the batch's appeals at once
        return await batched.subscribers(tx, appeal_id)
    read: dict[UUID, list[dict[str, Any]]] = tx.memo.get(_READ, {})
    if appeal_id in read:
        return read[appeal_id]
    return [dict(row) for row in await tx.driver.fetch(_SUBSCRIBERS, appeal_id)]


def read_with_appeal(tx: Tx, appeal_id: UUID, found: list[dict[str, str]]) -> None:
    """The appeal's subscribers as `SUBSCRIBERS_JSON` found them (decoded by the driver's
    JSON codec) in the statement that read the appeal (store.read_models.appeal), for this
    transaction's `subscribers`."""
    rows = [{"id": UUID(row["id"]), "url": row["url"]} for row in found]
    tx.memo.setdefault(_READ, {})[appeal_id] = rows


LEADERSHIP_KIND = "leadership_escalation"  # domain.leadership.KIND: the store imports no domain


async def enqueue(tx: Tx, **values: Any) -> None:
    await tx.conn.execute(
        insert(deliveries)
        .values(status="pending", attempts=0, next_attempt_at=values["created_at"], **values)
        .on_conflict_do_nothing()
    )


async def create_subscription(tx: Tx, **values: Any) -> None:
    await tx.conn.execute(subscriptions.insert().values(active=True, **values))


async def list_subscriptions(
    tx: Tx, filer: str, *, after: tuple[datetime, UUID] | None = None, limit: int
) -> list[dict[str, Any]]:
    """The filer's active subscriptions, oldest first, from past the keyset `after`."""
    query = select(subscriptions).where(subscriptions.c.filer == filer, subscriptions.c.active)
    if after is not None:
        query = query.where(tuple_(subscriptions.c.created_at, subscriptions.c.id) > after)
    rows = await tx.conn.execute(
        query.order_by(subscriptions.c.created_at, subscriptions.c.id).limit(limit)
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
    tx: Tx,
    *,
    subscription_id: UUID | None = None,
    appeal_id: UUID | None = None,
    failed_notices: bool = False,
    failed_leadership: bool = False,
    after: tuple[datetime, UUID] | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Deliveries oldest first, from past the keyset `after`; `failed_notices`: only the
    citizen notices that could not be delivered; `failed_leadership`: only the leadership
    notices of escalations that could not be."""
    query = select(deliveries).order_by(deliveries.c.created_at, deliveries.c.id).limit(limit)
    if subscription_id is not None:
        query = query.where(deliveries.c.subscription_id == subscription_id)
    if appeal_id is not None:
        query = query.where(deliveries.c.appeal_id == appeal_id)
    if failed_notices:
        query = query.where(
            deliveries.c.subscription_id.is_(None),
            deliveries.c.status == "failed",
            deliveries.c.kind != LEADERSHIP_KIND,
        )
    if failed_leadership:
        query = query.where(deliveries.c.kind == LEADERSHIP_KIND, deliveries.c.status == "failed")
    if after is not None:
        query = query.where(tuple_(deliveries.c.created_at, deliveries.c.id) > after)
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


async def record_attempt(
    tx: Tx, delivery_id: UUID, *, leased_until: datetime, **values: Any
) -> bool:
    """Record an attempt if this sender still holds the delivery's lease; False when the
    lease ran out and another sender took the delivery (its attempt is the one recorded)."""
    held = (
        (deliveries.c.id == delivery_id)
        & (deliveries.c.status == "pending")
        & (deliveries.c.next_attempt_at == leased_until)
    )
    done = await tx.conn.execute(update(deliveries).where(held).values(**values))
    return done.rowcount == 1
