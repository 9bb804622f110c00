"""intake reacts to other services' facts only to show an appeal's status."""

from intake_service import domain, store
from shared import events
from shared.runtime.consumer import Handlers
from shared.runtime.eventstore import Tx


async def on_status_fact(event: events.Event, tx: Tx) -> None:
    new = domain.status_after(event)
    current = await store.lock_status(tx, event.subject)
    if new is None or current is None:
        return  # an appeal filed elsewhere, or a fact that does not change the status
    if domain.advances(current, new):
        await store.set_status(tx, event.subject, new, event.time)


HANDLERS: Handlers = {
    events.Assigned: on_status_fact,
    events.Closed: on_status_fact,
    events.Handled: on_status_fact,
    events.Rated: on_status_fact,
}
