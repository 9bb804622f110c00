"""feedback learns who holds each work order from dispatch's facts."""

from feedback_service import store
from shared import events
from shared.runtime.consumer import Handlers
from shared.runtime.eventstore import Tx


async def on_assigned(event: events.Assigned, tx: Tx) -> None:
    await store.record_assignment(tx, event)


HANDLERS: Handlers = {events.Assigned: on_assigned}
