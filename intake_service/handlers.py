"""intake reacts to other services' facts only to show an appeal's status."""

from intake_service import domain, store
from intake_service.open311 import updates as open311_updates
from shared import events
from shared.runtime.consumer import Handlers
from shared.runtime.eventstore import Tx


async def on_progress(event: events.Event, tx: Tx) -> None:
    current = await store.lock_progress(tx, event.subject)
    if current is None:
        return  # an appeal filed elsewhere
    new = domain.progress_after(event, current[0])
    if new is not None and domain.advances(current, new):
        await store.set_progress(tx, event.subject, new, event.time)


HANDLERS: Handlers = dict.fromkeys(
    (
        events.Assigned,
        events.Redispatched,
        events.SignedFor,
        events.RedoOrdered,
        events.Closed,
        events.Handled,
        events.NotRated,
        events.Rated,
    ),
    on_progress,
)
# Every public dispatch and feedback fact also becomes an Open311 update.
HANDLERS = open311_updates.with_updates(HANDLERS)
