"""The Open311 update feed's SQL: one row per public fact about an appeal, keyed by the
fact's id, appended and never edited (a correction is a new fact, so a new row)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from intake_service.open311.statuses import Update
from intake_service.store import batched
from intake_service.store.appeals import publishable
from intake_service.store.tables import appeals
from intake_service.store.tables import open311_updates as updates
from shared.runtime.batch import BatchTx
from shared.runtime.eventstore import Tx

# Written out once (a filing's hot path: no statement building per call); the rows as
# arrays, so one prepared statement serves any number of them.
_ADD_ALL = """
    INSERT INTO open311_updates
        (update_id, appeal_id, fact_type, status, description, updated_at, department, due)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::varchar[], $5::text[],
        $6::timestamptz[], $7::varchar[], $8::timestamptz[])
    ON CONFLICT (update_id) DO NOTHING"""


def _in_time_order() -> Any:
    return select(updates).order_by(updates.c.updated_at, updates.c.id)


async def history(tx: Tx, appeal_id: UUID) -> list[Update]:
    if isinstance(tx, BatchTx):  # a consume batch reads its appeals' updates at once
        return await batched.history(tx, appeal_id)
    rows = await tx.conn.execute(_in_time_order().where(updates.c.appeal_id == appeal_id))
    return [batched.update_of(row._mapping) for row in rows]


async def add(tx: Tx, update: Update) -> None:
    """Once per fact: a redelivered fact finds its row and adds nothing."""
    if isinstance(tx, BatchTx):  # held to the batch's flush, one statement for all
        await batched.add(tx, update)
        return
    await add_all(tx, [update])


async def add_all(tx: Tx, new: Sequence[Update]) -> None:
    """As `add`, the rows in one statement."""
    if new:
        await tx.driver.execute(_ADD_ALL, *_columns(new))


def hold_all(tx: Tx, new: Sequence[Update]) -> None:
    """As `add_all`, held for the transaction's append (`Tx.hold`): rows of an appeal this
    transaction creates, which nothing reads before the commit."""
    if new:
        tx.hold(_ADD_ALL, *_columns(new))


def _columns(new: Sequence[Update]) -> tuple[tuple[Any, ...], ...]:
    """The rows as one array per column, as `_ADD_ALL` unnests them."""
    return tuple(zip(*map(batched.values_of, new), strict=True))


async def between(
    tx: Tx, since: datetime, until: datetime, limit: int, *, hidden_prefix: str | None = None
) -> list[tuple[Update, dict[str, Any]]]:
    """The earliest `limit` updates whose fact happened in [since, until], in time order, of
    appeals that may be public only (none whose category starts with `hidden_prefix`), each
    with its appeal's receipt as stored (sealed: the caller opens it to mask the name)."""
    query = (
        select(
            updates,
            appeals.c.received,
            appeals.c.key_id,
            appeals.c.personal_data_erased_at,
        )
        .join(appeals, appeals.c.id == updates.c.appeal_id)
        .where(updates.c.updated_at >= since, updates.c.updated_at <= until, publishable())
        .order_by(updates.c.updated_at, updates.c.id)
        .limit(limit)
    )
    if hidden_prefix is not None:
        hidden = select(appeals.c.id).where(appeals.c.category.startswith(hidden_prefix))
        query = query.where(updates.c.appeal_id.not_in(hidden))
    return [
        (
            batched.update_of(row._mapping),
            {
                "received": row.received,
                "key_id": row.key_id,
                "personal_data_erased_at": row.personal_data_erased_at,
            },
        )
        for row in await tx.conn.execute(query)
    ]


async def of_appeals(tx: Tx, appeal_ids: Sequence[UUID]) -> dict[UUID, list[Update]]:
    """Each appeal's updates in time order (appeals without any are absent)."""
    found: dict[UUID, list[Update]] = {}
    if not appeal_ids:
        return found
    rows = await tx.conn.execute(_in_time_order().where(updates.c.appeal_id.in_(appeal_ids)))
    for row in rows:
        found.setdefault(row.appeal_id, []).append(batched.update_of(row._mapping))
    return found
