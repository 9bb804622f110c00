"""How other services' facts reach intake: they move the appeal's status (and name the
department that holds it), and every public one becomes an Open311 update. The one fact
intake appends in reaction is the outcome of a withdrawal it asked dispatch for."""

from intake_service import commands, projection, store
from intake_service.open311 import updates as open311
from shared import events
from shared.runtime.consumer import Handlers
from shared.runtime.eventstore import Tx


async def _progress(tx: Tx, event: events.Event) -> None:
    await projection.advance(tx, event)
    await open311.record(tx, [event])


async def on_assigned(event: events.Assigned, tx: Tx) -> None:
    await projection.advance(tx, event)
    await store.set_department(tx, event.subject, event.department)
    await open311.record(tx, [event])


async def on_redispatched(event: events.Redispatched, tx: Tx) -> None:
    # facts of one dispatch stream arrive in order: the latest lead is the holder
    await projection.advance(tx, event)
    await store.set_department(tx, event.subject, event.department)
    await open311.record(tx, [event])


async def on_signed_for(event: events.SignedFor, tx: Tx) -> None:
    await _progress(tx, event)


async def on_redo_ordered(event: events.RedoOrdered, tx: Tx) -> None:
    await _progress(tx, event)


async def on_closed(event: events.Closed, tx: Tx) -> None:
    await _progress(tx, event)
    # Merged children (并单) were handled as this appeal: they close with it, each with an
    # Open311 update of its own, so a child's filer sees "closed" too.
    for child in await store.children(tx, event.subject):
        current = await store.lock_progress(tx, child)
        if current is None or current[1] == "closed":
            continue
        await store.set_progress(tx, child, (current[0], "closed"), event.time)
        await open311.record_closed_with_parent(tx, event, child)


async def on_handled(event: events.Handled, tx: Tx) -> None:
    await _progress(tx, event)


async def on_reply_reviewed(event: events.ReplyReviewed, tx: Tx) -> None:
    await _progress(tx, event)


async def on_rated(event: events.Rated, tx: Tx) -> None:
    await _progress(tx, event)


async def on_not_rated(event: events.NotRated, tx: Tx) -> None:
    await _progress(tx, event)


async def on_withdrawal_answered(
    event: events.Withdrawn | events.WithdrawalRefused, tx: Tx
) -> None:
    await commands.settle_withdrawal(tx, event)


async def on_public_fact(event: events.Event, tx: Tx) -> None:
    """A public fact that moves no status here: only an Open311 update."""
    await open311.record(tx, [event])


HANDLERS: Handlers = {
    # dispatch
    events.Assigned: on_assigned,
    events.Redispatched: on_redispatched,
    events.SignedFor: on_signed_for,
    events.RedoOrdered: on_redo_ordered,
    events.Closed: on_closed,
    events.ReturnRequested: on_public_fact,
    events.ReturnApproved: on_public_fact,
    events.ReturnDenied: on_public_fact,
    events.ExtensionApproved: on_public_fact,
    events.Withdrawn: on_withdrawal_answered,
    events.WithdrawalRefused: on_withdrawal_answered,
    # feedback
    events.Handled: on_handled,
    events.ReplyReviewed: on_reply_reviewed,
    events.Rated: on_rated,
    events.NotRated: on_not_rated,
    events.CallbackMade: on_public_fact,
}
