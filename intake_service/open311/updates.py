"""Writing the Open311 update feed: one update per public fact about an appeal, in the same
transaction as the fact (intake's own facts, from the appeal's projection) or as its inbox row
(dispatch's and feedback's, from `handlers`; the consume loop delivers at least once, and the
fact's id keys the row)."""

from collections.abc import Sequence
from uuid import UUID

from intake_service import store
from intake_service.open311 import statuses
from intake_service.store import updates as feed
from shared import events
from shared.runtime.eventstore import Tx


def hold_fresh(tx: Tx, new_events: Sequence[events.Event]) -> None:
    """The updates a new appeal's first facts make, held for the append's statement
    (`Tx.hold`): its row is this transaction's own, so no other can see it or have written
    updates for it yet, and the updates follow from these facts alone."""
    history: list[statuses.Update] = []
    for event in new_events:
        if statuses.is_public(type(event)):
            update = statuses.update_for(event, history)
            if update is not None:
                history.append(update)
    feed.hold_all(tx, history)


async def record(tx: Tx, new_events: Sequence[events.Event]) -> None:
    """Record the updates these facts make, once the appeal's row exists."""
    for event in new_events:
        if not statuses.is_public(type(event)):
            continue
        # The row lock orders a command's facts and the consumer's for the same appeal, so
        # each reads the updates the other committed before deciding the status after it.
        if await store.lock_progress(tx, event.subject) is None:
            continue  # an appeal intake does not hold
        history = await feed.history(tx, event.subject)
        if any(past.update_id == event.id for past in history):
            continue
        update = statuses.update_for(event, history)
        if update is not None:
            await feed.add(tx, update)


async def record_closed_with_parent(tx: Tx, closed: events.Closed, child: UUID) -> None:
    """The merged child's own update when its parent closes, once."""
    update = statuses.closed_with_parent(closed, child)
    if not any(past.update_id == update.update_id for past in await feed.history(tx, child)):
        await feed.add(tx, update)
