"""Writing the Open311 update feed: one update per public fact about an appeal, in the same
transaction as the fact (intake's own facts) or as its inbox row (dispatch's and feedback's,
through the consume loop, which delivers at least once: the fact's id keys the row)."""

from collections.abc import Sequence
from typing import Any

from intake_service import store
from intake_service.open311 import feed_store, statuses
from shared import events
from shared.runtime.consumer import Handler, Handlers
from shared.runtime.eventstore import Tx


async def record(tx: Tx, new_events: Sequence[events.Event]) -> None:
    """Record the updates these facts make. Every intake command calls this with the facts
    it appends, after the appeal's row exists; the consume loop calls it for the others."""
    for event in new_events:
        if not statuses.is_public(type(event)):
            continue
        # The row lock orders a command's facts and the consumer's for the same appeal, so
        # each reads the updates the other committed before deciding the status after it.
        if await store.lock_progress(tx, event.subject) is None:
            continue  # an appeal intake does not hold
        history = await feed_store.history(tx, event.subject)
        if any(past.update_id == event.id for past in history):
            continue
        update = statuses.update_for(event, history)
        if update is not None:
            await feed_store.add(tx, update)


def with_updates(handlers: Handlers) -> Handlers:
    """`handlers`, each public dispatch and feedback fact also recording its update (after
    the handler it already had, if any)."""
    combined = dict(handlers)
    for event_type in events.EVENT_TYPES.values():
        if event_type.source != "intake" and statuses.is_public(event_type):
            combined[event_type] = _then_record(handlers.get(event_type))
    return combined


def _then_record(first: Handler | None) -> Handler:
    async def handle(event: Any, tx: Tx) -> None:
        if first is not None:
            await first(event, tx)
        await record(tx, [event])

    return handle
