"""dispatch's reactions to other services' facts. A reaction that decides runs through the one
write path on the work order (`commands.WORK_ORDER`); the clock-only ones refresh the
work-order view. Each locks the work order's row before it reads its stream (`_locked`).
HANDLERS, at the bottom, is the table of contents."""

from uuid import UUID

from dispatch_service import commands, domain, store
from shared import events
from shared.runtime.batch import BatchTx
from shared.runtime.commands import execute, state_of
from shared.runtime.consumer import Handlers
from shared.runtime.deliveries import TransientError
from shared.runtime.eventstore import Tx


async def on_appeal_forwarded(event: events.AppealForwarded, tx: Tx) -> None:
    try:
        # The policy in force when intake received the appeal: its clocks, for its life.
        table = await store.current_routing(tx)
        policy = await store.policy_in_force(tx, event.received_at)
    except LookupError as exc:  # not configured yet: wait for it rather than park every appeal
        raise TransientError(str(exc)) from exc
    calendar = await store.current_calendar(tx)
    await execute(
        tx,
        commands.WORK_ORDER,
        event.subject,
        lambda order, context: domain.assign(
            order, event, table=table, policy=policy, calendar=calendar, context=context
        ),
        context=commands.by_service(cause=event),
    )


def _work_order_of(event: events.Event) -> UUID:
    # A merged child has no work order: its rating reaches the parent's.
    return (event.merged_into if isinstance(event, events.Rated) else None) or event.subject


async def _locked(event: events.Event, tx: Tx) -> tuple[commands.State, int]:
    """The work order the fact acts on, its row locked before its stream is read, as a
    route's command locks it: whichever of the two comes second waits for the other's
    commit and decides on what it committed (never the two each waiting for the other, a
    command holding the row and the batch the stream's next version). A consume batch
    locks those of all its facts but assignments (new work orders) at its first."""
    along = (
        [_work_order_of(f.event) for f in tx.batch if isinstance(f.event, _ON_WORK_ORDERS)]
        if isinstance(tx, BatchTx)
        else []
    )
    stream = await store.load_locked(tx, _work_order_of(event), along=along)
    return state_of(commands.WORK_ORDER, stream)


async def on_handled(event: events.Handled, tx: Tx) -> None:
    # The handling clock stops for this round once the department has replied. A reply by a
    # lead this order has since left (passed on before this reply was heard, so in the same
    # round) is not the holder's: its clock runs on until it replies itself.
    order, version = await _locked(event, tx)
    if order is None or event.department != order.department:
        return
    await store.save_work_order(
        tx, order, version=version, at=event.time, handled_round=event.round, now=event.time
    )


async def on_reply_reviewed(event: events.ReplyReviewed, tx: Tx) -> None:
    # A reply sent back is no reply: the handling clock runs again until the next one. An
    # approved one ends the round's handling, even one by a lead the order has since left.
    order, version = await _locked(event, tx)
    handled = await store.handled_round(tx, event.subject)
    standing = domain.handled_round_after_review(order, event, handled_round=handled)
    if order is None or standing == handled:
        return
    await store.save_work_order(
        tx, order, version=version, at=event.time, handled_round=standing, now=event.time
    )


async def on_rated(event: events.Rated, tx: Tx) -> None:
    loaded = order, _ = await _locked(event, tx)
    if order is None:
        return
    # The redo limit and the new round's clocks are the pinned policy's, not the newest.
    policy = await store.policy_version(tx, order.deadlines.policy_version)
    calendar = await store.current_calendar(tx)
    decide = domain.close_or_redo if event.merged_into is None else domain.redo_for_merged_child
    await execute(
        tx,
        commands.WORK_ORDER,
        _work_order_of(event),
        lambda order, context: decide(
            order, event, policy=policy, calendar=calendar, context=context
        ),
        context=commands.by_service(cause=event),
        loaded=loaded,
    )


async def on_not_rated(event: events.NotRated, tx: Tx) -> None:
    await execute(
        tx,
        commands.WORK_ORDER,
        event.subject,
        lambda order, context: domain.close_unrated(order, event, context=context),
        context=commands.by_service(cause=event),
        loaded=await _locked(event, tx),
    )


async def on_withdrawal_requested(event: events.WithdrawalRequested, tx: Tx) -> None:
    # The forward of the same appeal precedes this on intake's partition: the order exists.
    await execute(
        tx,
        commands.WORK_ORDER,
        event.subject,
        lambda order, context: domain.withdraw(order, event, context=context),
        context=commands.by_service(cause=event),
        loaded=await _locked(event, tx),
    )


# The catalogue versions the assignments and ratings decide by, read in each batch's first
# statement rather than in a round trip of their own.
BATCH_READ = store.VERSIONS_IN_FORCE

# The facts that act on a work order that exists, its row locked first (`_locked`).
_ON_WORK_ORDERS = (
    events.WithdrawalRequested,
    events.Handled,
    events.ReplyReviewed,
    events.Rated,
    events.NotRated,
)

HANDLERS: Handlers = {
    events.AppealForwarded: on_appeal_forwarded,
    events.WithdrawalRequested: on_withdrawal_requested,
    events.Handled: on_handled,
    events.ReplyReviewed: on_reply_reviewed,
    events.Rated: on_rated,
    events.NotRated: on_not_rated,
}
