"""The work-order view's SQL: one row per work order, saved with every decision on its
stream (and when another service's fact stops or restarts its handling clock), read by the
routes and by the timer's sweep."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch_service import domain
from dispatch_service.store import versions
from dispatch_service.store.tables import work_orders
from shared import envelope
from shared.runtime import bulk
from shared.runtime.batch import BatchTx
from shared.runtime.eventstore import Tx

_TABLE = "dispatch.work_orders"  # its rows held by a batched transaction (Tx.later)
_WORK_ORDER = "SELECT * FROM work_orders WHERE appeal_id = $1"
_SAVED = "dispatch.saved"  # Tx.memo: appeal id -> its work order as this transaction saved it
_HANDLED_ROUND = "SELECT handled_round FROM work_orders WHERE appeal_id = $1"
_HANDLED = "dispatch.handled_round"  # Tx.memo: appeal id -> its replied round, read already
# Whoever saves a work order holds its row's lock from before it reads what it saves until
# its commit: a route's command, the timer's sweeps (their SKIP LOCKED selections) and a
# consume batch's handlers (`load_locked`). Else one could write its row from a stream or a
# replied round the other has since moved on: a reply's clock stop lost under a sign-for
# committed beside it, or the sign-for's stage under the clock stop. And writers that both
# append take the row first and the stream's next version second, in that order: a command
# holding the row and a batch holding the version would each wait for the other.
#
# What a route's command reads, in one round trip where each was its own: the work order's
# stream, its replied round (its view saves it), locked, and the catalogue versions in
# force. A lock that waited returns the row as committed since (READ COMMITTED re-reads a
# locked row), while the stream is as the statement began: had it moved on, the append
# fails as a lost race.
_FOR_COMMAND = f"""
    SELECT ARRAY(SELECT body FROM events WHERE stream_id = $1 ORDER BY version) AS stream,
        (SELECT handled_round FROM work_orders WHERE appeal_id = $1 FOR UPDATE)
            AS handled_round,
        ({versions.IN_FORCE}) AS versions"""
_LOCK_ALL = (
    "SELECT appeal_id, version, handled_round FROM work_orders"
    " WHERE appeal_id = ANY($1::uuid[]) ORDER BY appeal_id FOR UPDATE"
)
_LOCKED = "dispatch.locked"  # Tx.memo: appeal id -> its row's version when locked (None: no row)


async def load_for_command(tx: Tx, appeal_id: UUID) -> list[envelope.Recorded]:
    """The work order's stream as `Tx.load` reads it, its row locked, with what its command
    will need read along and kept for the rest of the transaction."""
    row = await tx.driver.fetchrow(_FOR_COMMAND, appeal_id)
    versions.keep(tx, row["versions"])
    tx.memo.setdefault(_HANDLED, {})[appeal_id] = int(row["handled_round"] or 0)
    return tx.adopt(appeal_id, row["stream"])


async def load_locked(
    tx: Tx, appeal_id: UUID, *, along: Iterable[UUID] = ()
) -> list[envelope.Recorded]:
    """The work order's stream for a consume batch's handler, its row locked first, with
    those of `along` (the batch's other work orders) in the same statement, in id order.
    The batch read the stream at its start; it is read again only when a command has
    committed to it since (the row's version is ahead)."""
    locked: dict[UUID, int | None] = tx.memo.setdefault(_LOCKED, {})
    if appeal_id not in locked:
        wanted = sorted({appeal_id, *along} - locked.keys())
        locked.update(dict.fromkeys(wanted))
        for row in await tx.driver.fetch(_LOCK_ALL, wanted):
            locked[row["appeal_id"]] = row["version"]
            tx.memo.setdefault(_HANDLED, {})[row["appeal_id"]] = row["handled_round"]
    stream = await tx.load(appeal_id)
    version = locked[appeal_id]
    if version is not None and version > (stream[-1].version if stream else 0):
        stream = await tx.reload(appeal_id)
    return stream


async def handled_round(tx: Tx, appeal_id: UUID) -> int:
    if isinstance(tx, BatchTx) and (held := tx.pending(_TABLE, appeal_id)) is not None:
        return int(held["handled_round"])
    if (known := tx.memo.get(_HANDLED, {}).get(appeal_id)) is not None:
        return int(known)
    return int(await tx.driver.fetchval(_HANDLED_ROUND, appeal_id) or 0)


async def save_work_order(
    tx: Tx,
    order: domain.WorkOrder,
    *,
    version: int,
    at: datetime,
    handled_round: int,
    now: datetime,
) -> None:
    handled = handled_round >= order.round
    values = {
        "department": order.department,
        "assisting": list(order.assisting),
        "stage": order.stage,
        "district": order.district,
        "round": order.round,
        "version": version,
        "sign_for_due": order.deadlines.sign_for_due,
        "handle_due": order.deadlines.handle_due,
        "handled_round": handled_round,
        "overdue": order.is_open
        and any(
            mark[0] == "DeadlineMissed"
            and mark[2] in (order.deadlines.sign_for_due, order.deadlines.handle_due)
            for mark in order.signalled
        ),
        "next_signal_at": domain.next_signal_at(order, handled=handled),
        "provisional_years": sorted(
            {
                *order.deadlines.provisional_years,
                *(y for a in order.assists for y in a.provisional_years),
            }
        ),
        "state": view(order, version=version, handled=handled, now=now),
        "updated_at": at,
    }
    row = {"appeal_id": order.appeal_id, **values}
    if isinstance(tx, BatchTx):  # a consume batch writes its work orders in one statement,
        # that of its appends: an assignment's fact and its order are one round trip
        tx.later(_TABLE, _save_all, order.appeal_id, row, carried=_SAVE_ALL_SQL)
        return
    # A command's one row, on the driver, brought back as stored: the route answers with it
    # rather than reading it again (`saved_or_read`).
    [saved] = await bulk.fetch(tx.driver, _SAVE_ONE, {"rows": bulk.json_rows([row])})
    tx.memo.setdefault(_SAVED, {})[order.appeal_id] = dict(saved)


_COLUMNS = [c.name for c in work_orders.columns]
_SAVE_ALL_SQL = bulk.insert_rows(
    work_orders, _COLUMNS, on_conflict=bulk.upsert("appeal_id", _COLUMNS)
)
_SAVE_ALL = text(_SAVE_ALL_SQL)
_SAVE_ONE = text(f"{_SAVE_ALL_SQL} RETURNING *")


async def _save_all(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(_SAVE_ALL, {"rows": bulk.json_rows(rows)})


def view(order: domain.WorkOrder, *, version: int, handled: bool, now: datetime) -> dict[str, Any]:
    d = order.deadlines
    return {
        "appeal_id": str(order.appeal_id),
        "department": order.department,
        "assisting": list(order.assisting),
        "stage": order.stage,
        "round": order.round,
        "version": version,
        "handled_this_round": handled,
        "category": order.category,
        "district": order.district,
        "appeal_type": order.appeal_type,
        "urgency": order.urgency,
        "pending_extension_days": order.pending_extension,
        "deadlines": {
            "sign_for_due": d.sign_for_due.isoformat(),
            "handle_due": d.handle_due.isoformat(),
            "dispatch_due": d.dispatch_due.isoformat() if d.dispatch_due else None,
            "policy_version": d.policy_version,
            "calendar": d.calendar,
            "provisional": d.provisional,
            "provisional_years": list(d.provisional_years),
        },
        "assigned_at": order.assigned_at.isoformat(),
        "assists": [
            {
                "department": a.department,
                "asked_at": a.asked_at.isoformat(),
                "due": a.due.isoformat(),
                "state": a.state,
                "contributed_at": a.contributed_at.isoformat() if a.contributed_at else None,
                "provisional_years": list(a.provisional_years),
                "warn_at": a.warn_at.isoformat() if a.warn_at else None,
            }
            for a in order.assists
        ],
        "as_of": now.isoformat(),
    }


async def get_work_order(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    # SQL text on the driver: what a waiting GET reads at each change of the appeal.
    row = await tx.driver.fetchrow(_WORK_ORDER, appeal_id)
    return None if row is None else dict(row)


async def saved_or_read(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    """The work order as this transaction left it: the row its command saved, else read."""
    saved: dict[str, Any] | None = tx.memo.get(_SAVED, {}).get(appeal_id)
    return saved if saved is not None else await get_work_order(tx, appeal_id)


async def due_for_signals(tx: Tx, now: datetime, limit: int) -> list[UUID]:
    """Work orders whose next warning or overdue mark has come, locked for this transaction;
    another replica's timer skips them rather than waiting."""
    rows = await tx.conn.execute(
        select(work_orders.c.appeal_id)
        .where(work_orders.c.next_signal_at <= now)
        .order_by(work_orders.c.next_signal_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [row.appeal_id for row in rows]


async def list_work_orders(
    tx: Tx,
    *,
    department: str | None,
    role: Literal["lead", "assisting"] | None = None,
    stage: str | None,
    district: str | None,
    overdue: bool | None,
    open_only: bool,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` rows after the keyset `after`, oldest change first; ask for one more
    than a page shows to learn whether another page follows."""
    query = select(work_orders)
    if department is not None:
        # a department's queue: what it leads, what it assists, or both (role None)
        leads = work_orders.c.department == department
        assists = work_orders.c.assisting.contains([department])
        query = query.where({"lead": leads, "assisting": assists, None: or_(leads, assists)}[role])
    if stage is not None:
        query = query.where(work_orders.c.stage == stage)
    if open_only:
        query = query.where(work_orders.c.stage != "closed")
    if district is not None:
        query = query.where(work_orders.c.district == district)
    if overdue is not None:
        query = query.where(work_orders.c.overdue == overdue)
    if after is not None:
        at, appeal_id = after
        query = query.where(
            or_(
                work_orders.c.updated_at > at,
                and_(work_orders.c.updated_at == at, work_orders.c.appeal_id > appeal_id),
            )
        )
    rows = await tx.conn.execute(
        query.order_by(work_orders.c.updated_at, work_orders.c.appeal_id).limit(limit)
    )
    return [dict(r._mapping) for r in rows]
