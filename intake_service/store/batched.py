"""A consume batch's SQL for intake's read models: the appeals' progress and the Open311
updates that dispatch's and feedback's facts move, read for the whole batch in one
statement each (the rows locked, in id order) and written in one statement each at the
batch's flush (shared.runtime.batch), in the batch's one transaction.

Between the read and the flush the batch's view is kept in `Tx.memo`, so a fact sees what
the batch's earlier facts did, as if each had been written at once.
"""

from typing import Any, Final
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from intake_service.open311.statuses import Update
from intake_service.store.tables import open311_updates
from shared.runtime import bulk
from shared.runtime.batch import BatchTx

_ROWS: Final = "intake.progress"  # memo: appeal id -> its progress columns (None: not here)
_FEEDS: Final = "intake.updates"  # memo: appeal id -> its Open311 updates in time order
_CHILDREN: Final = "intake.children"  # memo: appeal id -> the appeals merged into it
_HELD_ROWS: Final = "intake.appeals"
_HELD_UPDATES: Final = "intake.open311_updates"
_PROGRESS = ("status_round", "status", "status_at", "stages", "department")
_LOCK_ALL = text(
    f"SELECT id, {', '.join(_PROGRESS)} FROM appeals "
    "WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE"
)
_SAVE_ALL = text(
    f"UPDATE appeals SET {', '.join(f'{c} = r.{c}' for c in _PROGRESS)} "
    "FROM jsonb_populate_recordset(NULL::appeals, CAST(:rows AS jsonb)) AS r "
    "WHERE appeals.id = r.id"
)
_CHILDREN_OF = text(
    "SELECT merged_into, id FROM appeals WHERE merged_into = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY received_at"
)
_UPDATE_COLUMNS = (
    "update_id", "appeal_id", "fact_type", "status", "description", "updated_at", "department",
    "due",
)  # fmt: skip
_HISTORIES = text(
    "SELECT * FROM open311_updates WHERE appeal_id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY updated_at, id"
)
_ADD_ALL = text(
    bulk.insert_rows(
        open311_updates, _UPDATE_COLUMNS, on_conflict="ON CONFLICT (update_id) DO NOTHING"
    )
)


def _wanted(tx: BatchTx, appeal_id: UUID, known: dict[UUID, Any]) -> list[UUID]:
    """This appeal and those of the batch's facts not read yet."""
    return sorted({appeal_id, *(fact.event.subject for fact in tx.batch)} - known.keys())


async def _row(tx: BatchTx, appeal_id: UUID) -> dict[str, Any] | None:
    rows: dict[UUID, dict[str, Any] | None] = tx.memo.setdefault(_ROWS, {})
    if appeal_id not in rows:
        wanted = _wanted(tx, appeal_id, rows)
        rows.update(dict.fromkeys(wanted))
        for row in await bulk.fetch(tx.driver, _LOCK_ALL, {"ids": wanted}):
            rows[row["id"]] = dict(row)
    return rows[appeal_id]


async def lock_progress(tx: BatchTx, appeal_id: UUID) -> tuple[int, str] | None:
    row = await _row(tx, appeal_id)
    return None if row is None else (row["status_round"], row["status"])


async def change(tx: BatchTx, appeal_id: UUID, **values: Any) -> None:
    """Set progress columns of the appeal's row (`stages` patched, not replaced)."""
    row = await _row(tx, appeal_id)
    if row is None:
        return  # as an UPDATE of no row
    stages = values.pop("stages", None)
    row.update(values)
    if stages is not None:
        row["stages"] = {**(row["stages"] or {}), **stages}
    tx.later(_HELD_ROWS, _save_all, appeal_id, row, carried=_SAVE_ALL.text)


def forget(tx: BatchTx, appeal_id: UUID, parent: UUID | None) -> None:
    """The row was written around the batch's view (after a flush): read it again, and
    the children of the parent it joins (or of every parent, when it leaves one)."""
    tx.memo.get(_ROWS, {}).pop(appeal_id, None)
    if parent is None:
        tx.memo.pop(_CHILDREN, None)
    else:
        tx.memo.get(_CHILDREN, {}).pop(parent, None)


async def _save_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_SAVE_ALL, {"rows": bulk.json_rows(rows)})


async def children(tx: BatchTx, parent: UUID) -> list[UUID]:
    """The appeals merged into `parent` (merges are intake's own commands: never held)."""
    found: dict[UUID, list[UUID]] = tx.memo.setdefault(_CHILDREN, {})
    if parent not in found:
        wanted = _wanted(tx, parent, found)
        found.update({each: [] for each in wanted})
        for row in await bulk.fetch(tx.driver, _CHILDREN_OF, {"ids": wanted}):
            found[row["merged_into"]].append(row["id"])
    return list(found[parent])


async def history(tx: BatchTx, appeal_id: UUID) -> list[Update]:
    feeds: dict[UUID, list[Update]] = tx.memo.setdefault(_FEEDS, {})
    if appeal_id not in feeds:
        wanted = _wanted(tx, appeal_id, feeds)
        feeds.update({each: [] for each in wanted})
        for row in await bulk.fetch(tx.driver, _HISTORIES, {"ids": wanted}):
            feeds[row["appeal_id"]].append(update_of(row))
    return list(feeds[appeal_id])


async def add(tx: BatchTx, update: Update) -> None:
    """Once per fact, as the single-row insert: an update already there adds nothing."""
    feed = await history(tx, update.appeal_id)
    if any(past.update_id == update.update_id for past in feed):
        return
    # in time order, a later-held one after an earlier of the same time (the serial id's)
    tx.memo[_FEEDS][update.appeal_id] = sorted([*feed, update], key=lambda u: u.at)
    row = dict(zip(_UPDATE_COLUMNS, values_of(update), strict=True))
    tx.later(_HELD_UPDATES, _add_all, update.update_id, row, carried=_ADD_ALL.text)


async def _add_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_ADD_ALL, {"rows": bulk.json_rows(rows)})


def values_of(u: Update) -> tuple[Any, ...]:
    """An Open311 update's open311_updates columns, in the table's order."""
    return (u.update_id, u.appeal_id, u.fact_type, u.status, u.description, u.at, u.department,
            u.due)  # fmt: skip


def update_of(row: Any) -> Update:
    """An Open311 update from its open311_updates row by column name (an asyncpg record, a
    SQLAlchemy row's `_mapping`)."""
    return Update(
        update_id=row["update_id"],
        appeal_id=row["appeal_id"],
        fact_type=row["fact_type"],
        status=row["status"],
        description=row["description"],
        at=row["updated_at"],
        department=row["department"],
        due=row["due"],
    )
