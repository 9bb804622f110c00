"""A consume batch's SQL for feedback's read models: who holds each work order and who
filed each appeal, held and written in one statement each at the batch's flush
(shared.runtime.batch), and the filers' subscribers read for the whole batch at once.

What a batch holds is its own view until the flush: a read of those rows through any other
path flushes first (`settle`), so it never sees them older than the batch made them.
"""

from typing import Any, Final
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback_service.store.tables import appeals
from shared.runtime import bulk
from shared.runtime.batch import BatchTx

_HOLDERS: Final = "feedback.holders"
_APPEALS: Final = "feedback.appeals"
_SIGNED: Final = "feedback.signed_for"  # sign-fors of holders the batch has not handed over
_SUBSCRIBERS: Final = "feedback.subscribers"  # memo: appeal id -> its filer's subscriptions
# A row without a round keeps the round it has (a new one starts at round 1).
_HAND_ALL = text("""
    WITH r AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
            appeal_id uuid, department varchar, assigned_event_id uuid, correlation_id uuid,
            round int, signed_for bool)
    )
    INSERT INTO holders (appeal_id, department, assigned_event_id, correlation_id, round,
        signed_for)
    SELECT appeal_id, department, assigned_event_id, correlation_id, COALESCE(round, 1),
        signed_for FROM r
    ON CONFLICT (appeal_id) DO UPDATE SET department = EXCLUDED.department,
        assigned_event_id = EXCLUDED.assigned_event_id,
        correlation_id = EXCLUDED.correlation_id, signed_for = EXCLUDED.signed_for,
        round = COALESCE((SELECT r.round FROM r WHERE r.appeal_id = EXCLUDED.appeal_id),
            holders.round)""")
_SIGN_ALL = text(
    "UPDATE holders SET signed_for = true "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(appeal_id uuid, department varchar) "
    "WHERE holders.appeal_id = r.appeal_id AND holders.department = r.department"
)
_REMEMBER_ALL = text(
    bulk.insert_rows(
        appeals,
        ("appeal_id", "filed_by", "channel", "personal_data", "key_id"),
        on_conflict="ON CONFLICT DO NOTHING",
    )
)
_SUBSCRIBERS_OF = text(
    "SELECT a.appeal_id, s.id, s.url FROM subscriptions s "
    "JOIN appeals a ON a.filed_by = s.filer "
    "WHERE a.appeal_id = ANY(CAST(:ids AS uuid[])) AND s.active ORDER BY s.created_at, s.id"
)


def hand_to(tx: BatchTx, appeal_id: UUID, values: dict[str, Any]) -> None:
    held = tx.pending(_HOLDERS, appeal_id)
    row = {"round": None if held is None else held["round"], **values, "appeal_id": appeal_id}
    tx.drop(_SIGNED, appeal_id)  # the new holder has not signed for it
    tx.later(_HOLDERS, _hand_all, appeal_id, row)


def mark_signed_for(tx: BatchTx, appeal_id: UUID, department: str) -> None:
    """Signed for, if `department` holds it: on the row the batch holds, or at the flush
    on the row as written (an appeal handed over later in the batch drops that)."""
    held = tx.pending(_HOLDERS, appeal_id)
    if held is None:
        row = {"appeal_id": appeal_id, "department": department}
        tx.later(_SIGNED, _sign_all, appeal_id, row)
    elif held["department"] == department:
        held["signed_for"] = True


async def _sign_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_SIGN_ALL, {"rows": bulk.json_rows(rows)})


async def _hand_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_HAND_ALL, {"rows": bulk.json_rows(rows)})


def remember_appeal(tx: BatchTx, row: dict[str, Any]) -> None:
    """The first fact of an appeal wins, as ON CONFLICT DO NOTHING keeps the row there."""
    if tx.pending(_APPEALS, row["appeal_id"]) is None:
        tx.later(_APPEALS, _remember_all, row["appeal_id"], row)
        tx.memo.get(_SUBSCRIBERS, {}).pop(row["appeal_id"], None)


async def _remember_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_REMEMBER_ALL, {"rows": bulk.json_rows(rows)})


async def settle(tx: BatchTx, appeal_id: UUID) -> None:
    """Before a read or write of the appeal's rows by another path: the held ones written."""
    if any(tx.pending(held, appeal_id) for held in (_HOLDERS, _SIGNED, _APPEALS)):
        await tx.flush()


async def subscribers(tx: BatchTx, appeal_id: UUID) -> list[dict[str, Any]]:
    """The active subscriptions of whoever filed the appeal, read for the batch's appeals at
    once (a filer remembered by the batch since is read again)."""
    found: dict[UUID, list[dict[str, Any]]] = tx.memo.setdefault(_SUBSCRIBERS, {})
    if appeal_id not in found:
        await tx.flush()  # the appeals the batch remembered, there to join
        wanted = sorted({appeal_id, *(f.event.subject for f in tx.batch)} - found.keys())
        found.update({each: [] for each in wanted})
        for row in await tx.conn.execute(_SUBSCRIBERS_OF, {"ids": wanted}):
            found[row.appeal_id].append({"id": row.id, "url": row.url})
    return list(found[appeal_id])
