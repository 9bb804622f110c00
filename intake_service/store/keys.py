"""The SQL of citizens' data keys (wrapped, never in clear) and of erasure requests."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert

from intake_service.store import catalogue
from intake_service.store.tables import appeals, citizen_keys, erasures
from shared import events
from shared.runtime import schema
from shared.runtime.eventstore import Tx

# A filing's hot path, written out once (no statement building per call): the phone's living
# key, locked, or else the new one inserted; whichever there is comes back, and beside it the
# catalogue version in force, which the filing classifies by next (one round trip, not two).
_KEY_FOR_PHONE = f"""
    WITH found AS (
        SELECT key_id, wrapped_key FROM citizen_keys
        WHERE phone_index = $3 AND wrapped_key IS NOT NULL FOR UPDATE
    ), added AS (
        INSERT INTO citizen_keys (key_id, wrapped_key, phone_index, created_at)
        SELECT $1::uuid, $2::bytea, $3::varchar, $4::timestamptz
        WHERE NOT EXISTS (SELECT key_id FROM found)
        ON CONFLICT DO NOTHING RETURNING key_id, wrapped_key
    ), key AS (
        SELECT key_id, wrapped_key FROM found UNION ALL SELECT key_id, wrapped_key FROM added
    )
    SELECT key.key_id, key.wrapped_key, head.version, head.published_at
    FROM (VALUES (1)) AS one (n)
    LEFT JOIN key ON true
    LEFT JOIN ({catalogue.HEAD}) AS head ON true"""


async def key_by_phone(tx: Tx, phone_index: str) -> tuple[UUID, bytes] | None:
    """The living key of the citizen with this phone, locked until the transaction ends."""
    row = (
        await tx.conn.execute(
            select(citizen_keys.c.key_id, citizen_keys.c.wrapped_key)
            .where(citizen_keys.c.phone_index == phone_index)
            .with_for_update()
        )
    ).one_or_none()
    return None if row is None or row.wrapped_key is None else (row.key_id, row.wrapped_key)


async def key_for_phone(
    tx: Tx, phone_index: str, key_id: UUID, wrapped: bytes, *, now: datetime
) -> tuple[UUID, bytes] | None:
    """The living key of the citizen with this phone, locked until the transaction ends, or
    else this new one, stored: one statement either way (a filing's hot path). None when a
    concurrent filing from the same phone is creating its key (the insert waited for it and
    found the phone taken): `key_by_phone` then reads that one. The catalogue version in
    force, read in the same statement, is kept for `catalogue.current_catalogue`."""
    row = await tx.driver.fetchrow(_KEY_FOR_PHONE, key_id, wrapped, phone_index, now)
    catalogue.note_head(tx, row["version"], row["published_at"])
    return None if row["key_id"] is None else (row["key_id"], row["wrapped_key"])


async def add_key(
    tx: Tx, key_id: UUID, wrapped: bytes, *, phone_index: str | None, now: datetime
) -> bool:
    """A new key; False when a concurrent filing created the phone's key first."""
    done = await tx.conn.execute(
        insert(citizen_keys)
        .values(key_id=key_id, wrapped_key=wrapped, phone_index=phone_index, created_at=now)
        .on_conflict_do_nothing()
    )
    return bool(done.rowcount)


async def wrapped_keys(tx: Tx, key_ids: Iterable[UUID]) -> dict[UUID, bytes | None]:
    """Each known key's wrapped bytes; None for an erased one; unknown ids are left out."""
    ids = list(set(key_ids))
    if not ids:
        return {}
    rows = await tx.conn.execute(
        select(citizen_keys.c.key_id, citizen_keys.c.wrapped_key).where(
            citizen_keys.c.key_id.in_(ids)
        )
    )
    return {r.key_id: r.wrapped_key for r in rows}


async def destroy_keys(tx: Tx, key_ids: Sequence[UUID], now: datetime) -> None:
    await tx.conn.execute(
        update(citizen_keys)
        .where(citizen_keys.c.key_id.in_(list(key_ids)))
        .values(wrapped_key=None, phone_index=None, erased_at=now)
    )


async def appeals_of(tx: Tx, key_ids: Sequence[UUID]) -> list[UUID]:
    rows = await tx.conn.execute(
        select(appeals.c.id).where(appeals.c.key_id.in_(list(key_ids))).order_by(appeals.c.id)
    )
    return [r.id for r in rows]


async def blank_appeal(tx: Tx, appeal_id: UUID, received: dict[str, Any], now: datetime) -> None:
    """No index, and `received` without any personal data in clear (kept by appeals from
    before sealing)."""
    await tx.conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id)
        .values(
            phone_index=None, address_index=None, received=received, personal_data_erased_at=now
        )
    )


async def add_erasure(tx: Tx, **values: Any) -> None:
    await tx.conn.execute(insert(erasures).values(**values))


async def erasure(tx: Tx, erasure_id: UUID) -> dict[str, Any] | None:
    row = (await tx.conn.execute(select(erasures).where(erasures.c.id == erasure_id))).one_or_none()
    return None if row is None else dict(row._mapping)


async def unpublished(tx: Tx, event_ids: Sequence[str]) -> int:
    """How many of these facts the relay has not yet published to Kafka."""
    if not event_ids:
        return 0
    found = await tx.conn.execute(
        select(func.count())
        .select_from(schema.events)
        .where(
            schema.events.c.event_id.in_([UUID(e) for e in event_ids]),
            schema.events.c.published_at.is_(None),
        )
    )
    return int(found.scalar_one())


async def recorded_in_clear(tx: Tx, appeal_ids: Sequence[str]) -> list[UUID]:
    """Those of the appeals whose appeal.received fact was recorded before sealing (schema
    v1: the citizen's data in clear; v2: the content in clear). Its bytes are hashed and
    copied to Kafka and audit, so erasure cannot remove what it holds (docs/privacy.md)."""
    if not appeal_ids:
        return []
    version = func.cast(func.cast(schema.events.c.body, JSONB)["schema_version"].astext, Integer)
    found = await tx.conn.execute(
        select(schema.events.c.stream_id)
        .where(
            schema.events.c.stream_id.in_([UUID(a) for a in appeal_ids]),
            schema.events.c.type == "appeal.received",
            version < events.AppealReceived.schema_version,
        )
        .order_by(schema.events.c.stream_id)
    )
    return list(found.scalars())
