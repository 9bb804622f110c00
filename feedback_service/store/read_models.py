"""feedback's read models: who holds each work order and in which round (from dispatch's
facts), which appeals are merged into which (from intake's), the open rating windows and
the callbacks due (from feedback's own facts)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from feedback_service import domain
from feedback_service.store import batched, notifications
from feedback_service.store.tables import callbacks_due, holders, merged_children
from shared import envelope, events
from shared.runtime import held
from shared.runtime.batch import BatchTx
from shared.runtime.eventstore import Tx

# SQL text on the driver (Tx.driver): read by every command and by the waiting GET.
_HOLDER_COLUMNS = ("department", "assigned_event_id", "correlation_id", "round", "signed_for")
_HOLDER = f"SELECT {', '.join(_HOLDER_COLUMNS)} FROM holders WHERE appeal_id = $1"


def _appeal_statement(also: str = "") -> str:
    """What a read of an appeal's feedback starts from, in one round trip (`also`: more
    columns)."""
    return f"""
    SELECT (SELECT parent_id FROM merged_children WHERE child_id = $1) AS parent,
        ARRAY(SELECT body FROM events WHERE stream_id = $1 ORDER BY version) AS stream,
        {", ".join(f"h.{c}" for c in _HOLDER_COLUMNS)}{also}
    FROM (VALUES (1)) AS one LEFT JOIN holders h ON h.appeal_id = $1"""


_APPEAL_TO_READ = _appeal_statement()
# A command also reads the subscribers its new facts go to.
_APPEAL_TO_CHANGE = _appeal_statement(f", ({notifications.SUBSCRIBERS_JSON}) AS subscribers")


@dataclass(frozen=True, slots=True)
class Appeal:
    """An appeal's merge parent, the holder of its work order and its feedback stream."""

    parent: UUID | None
    holder: domain.Holder | None
    stream: list[envelope.Recorded]


async def appeal(tx: Tx, appeal_id: UUID, *, to_change: bool = True) -> Appeal:
    """The appeal's parent, holder and stream as this transaction sees them and, unless
    only to read, the subscribers its new facts go to, in one round trip where reading them
    apart took four. For a route's transaction: a consume batch keeps its streams and
    holders in memory until its flush (`tx.load`, `holder`)."""
    if isinstance(tx, BatchTx):
        raise TypeError("a consume batch reads an appeal through tx.load and holder()")
    row = await tx.driver.fetchrow(_APPEAL_TO_CHANGE if to_change else _APPEAL_TO_READ, appeal_id)
    if to_change:  # for the command's new facts (notify.status_changed)
        notifications.read_with_appeal(tx, appeal_id, row["subscribers"])
    holder = (
        None
        if row["department"] is None
        else domain.Holder(*(row[column] for column in _HOLDER_COLUMNS))
    )
    return Appeal(row["parent"], holder, tx.adopt(appeal_id, row["stream"]))


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
    if isinstance(tx, BatchTx):  # a consume batch writes its holders in one statement
        batched.hand_to(tx, event.subject, values)
        return
    await tx.conn.execute(
        insert(holders)
        .values(appeal_id=event.subject, **values)
        .on_conflict_do_update(index_elements=["appeal_id"], set_=values)
    )


async def merge_child(tx: Tx, child: UUID, parent: UUID) -> None:
    await tx.conn.execute(
        insert(merged_children)
        .values(child_id=child, parent_id=parent)
        .on_conflict_do_update(index_elements=["child_id"], set_={"parent_id": parent})
    )
    # Merged after the parent's reply was approved: the child's callback is due now too.
    waiting = select(
        literal(child), callbacks_due.c.round, callbacks_due.c.department, callbacks_due.c.due_at
    ).where(callbacks_due.c.appeal_id == parent)
    await tx.conn.execute(
        insert(callbacks_due)
        .from_select(["appeal_id", "round", "department", "due_at"], waiting)
        .on_conflict_do_nothing()
    )


async def unmerge_child(tx: Tx, child: UUID) -> None:
    await tx.conn.execute(delete(merged_children).where(merged_children.c.child_id == child))
    await tx.conn.execute(delete(callbacks_due).where(callbacks_due.c.appeal_id == child))


async def mark_signed_for(tx: Tx, appeal_id: UUID, *, department: str) -> None:
    if isinstance(tx, BatchTx):  # written at the batch's flush
        batched.mark_signed_for(tx, appeal_id, department)
        return
    await tx.conn.execute(
        update(holders)
        .where(holders.c.appeal_id == appeal_id, holders.c.department == department)
        .values(signed_for=True)
    )


async def holder(tx: Tx, appeal_id: UUID) -> domain.Holder | None:
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
    row = await tx.driver.fetchrow(_HOLDER, appeal_id)
    return None if row is None else domain.Holder(*row)


async def open_rating_window(tx: Tx, appeal_id: UUID, *, round_: int, closes_at: datetime) -> None:
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
    await tx.conn.execute(
        update(holders)
        .where(holders.c.appeal_id == appeal_id)
        .values(rating_round=round_, rating_closes_at=closes_at)
    )


async def close_rating_window(tx: Tx, appeal_id: UUID) -> None:
    if isinstance(tx, BatchTx):
        await batched.settle(tx, appeal_id)
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


# A new feedback fact's read-model writes. A route's command holds them for the statement
# of its append (`Tx.hold`): a review, a callback and a rating are commands a lifecycle runs
# once or twice, and each paid a round trip of its own here. The parent's citizen is called
# back on an approval, and so is each merged child's.
_OPEN_WINDOW = "UPDATE holders SET rating_round = $2, rating_closes_at = $3 WHERE appeal_id = $1"
_CALL_BACK = """
INSERT INTO callbacks_due (appeal_id, round, department, due_at, attempts)
SELECT called.id, $2, $3, $4, 0
FROM (SELECT $1::uuid AS id UNION ALL SELECT child_id FROM merged_children WHERE parent_id = $1)
    AS called
ON CONFLICT (appeal_id) DO UPDATE SET round = excluded.round,
    department = excluded.department, due_at = excluded.due_at, attempts = 0
"""
# Each merged child's rating window opens with its parent's: a child is called back and rates
# on its own stream, and is recorded "not rated" on it if its window closes first. A child
# with no holder row of its own (held, never forwarded) gets one naming its parent's handling.
_CHILD_WINDOWS = """
INSERT INTO holders (appeal_id, department, assigned_event_id, correlation_id, round, signed_for,
                     rating_round, rating_closes_at)
SELECT child_id, $2, $3, $4, $5, true, $5, $6 FROM merged_children WHERE parent_id = $1
ON CONFLICT (appeal_id) DO UPDATE SET rating_round = excluded.rating_round,
    rating_closes_at = excluded.rating_closes_at
"""
# Another attempt is due: the window stays open while it is.
_NEXT_ATTEMPT = "UPDATE callbacks_due SET due_at = $2, attempts = $3 WHERE appeal_id = $1"
_KEEP_OPEN = """
UPDATE holders SET rating_closes_at = $2
WHERE appeal_id = $1 AND rating_round = $3 AND rating_closes_at < $2
"""
_CLOSE_WINDOW = (
    "UPDATE holders SET rating_round = NULL, rating_closes_at = NULL WHERE appeal_id = $1"
)
_NO_CALLBACK = "DELETE FROM callbacks_due WHERE appeal_id = $1"
Write = tuple[str, tuple[Any, ...]]


def _writes(fact: events.Event, rating_window: timedelta) -> list[Write]:
    """An approval opens the rating window and the callback queue; a rating or "not rated"
    closes both. Each touches the appeal's rows once."""
    match fact:
        case events.ReplyReviewed(decision="approved", callback_due=due) if due is not None:
            closes_at = fact.rating_closes_at or max(fact.time + rating_window, due)
            handling = (fact.department, fact.id, fact.correlation_id, fact.round, closes_at)
            return [
                (_OPEN_WINDOW, (fact.subject, fact.round, closes_at)),
                (_CALL_BACK, (fact.subject, fact.round, fact.department, due)),
                (_CHILD_WINDOWS, (fact.subject, *handling)),
            ]
        case events.CallbackMade(next_attempt_due=due) if due is not None:
            return [
                (_NEXT_ATTEMPT, (fact.subject, due, fact.attempt)),
                (_KEEP_OPEN, (fact.subject, due, fact.round)),
            ]
        case events.Rated() | events.NotRated():
            return [(_CLOSE_WINDOW, (fact.subject,)), (_NO_CALLBACK, (fact.subject,))]
    return []


async def project(tx: Tx, new: Sequence[events.Event], *, rating_window: timedelta) -> None:
    """Keep the rating window and the callback queue in step with new feedback facts, in the
    transaction that records them, before their append (`FEEDBACK.project_first`)."""
    writes = [(fact, each) for fact in new if (each := _writes(fact, rating_window))]
    if len(writes) == 1 and not isinstance(tx, BatchTx):
        for statement, args in writes[0][1]:
            tx.hold(statement, *args)  # written by the append's statement
        return
    # A consume batch's facts, or a command's with more than one write: the same rows may be
    # touched twice, which one statement must not do. Each fact's writes are one statement.
    for fact, each in writes:
        if isinstance(tx, BatchTx):
            await batched.settle(tx, fact.subject)
        *before, (last, _) = each
        statement = held.with_held(tuple(text for text, _ in before), last)
        await tx.driver.execute(statement, *(arg for _, args in each for arg in args))


async def list_callbacks_due(
    tx: Tx,
    *,
    due_by: datetime | None,
    department: str | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The callbacks to make, the most overdue first, from past the keyset `after`."""
    query = select(callbacks_due)
    if due_by is not None:
        query = query.where(callbacks_due.c.due_at <= due_by)
    if department is not None:
        query = query.where(callbacks_due.c.department == department)
    if after is not None:
        query = query.where(tuple_(callbacks_due.c.due_at, callbacks_due.c.appeal_id) > after)
    rows = await tx.conn.execute(
        query.order_by(callbacks_due.c.due_at, callbacks_due.c.appeal_id).limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def rating_window_closes_at(tx: Tx, appeal_id: UUID, round_: int) -> datetime | None:
    return await tx.conn.scalar(
        select(holders.c.rating_closes_at).where(
            holders.c.appeal_id == appeal_id, holders.c.rating_round == round_
        )
    )
