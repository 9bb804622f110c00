"""feedback learns who holds each work order, and in which round, from dispatch's facts."""

from feedback_service import store
from shared import events
from shared.runtime.consumer import Handlers
from shared.runtime.eventstore import Tx


async def on_assigned(event: events.Assigned, tx: Tx) -> None:
    await store.hand_to(tx, event, department=event.department, round_=1)


async def on_redispatched(event: events.Redispatched, tx: Tx) -> None:
    await store.hand_to(tx, event, department=event.department, round_=None)


async def on_redo_ordered(event: events.RedoOrdered, tx: Tx) -> None:
    await store.hand_to(tx, event, department=event.department, round_=event.round)


async def on_signed_for(event: events.SignedFor, tx: Tx) -> None:
    await store.mark_signed_for(tx, event.subject, department=event.department)


# dispatch's facts about one appeal share a partition and the inbox applies them in offset
# order, so the latest fact applied here is the latest one dispatch recorded.
HANDLERS: Handlers = {
    events.Assigned: on_assigned,
    events.Redispatched: on_redispatched,
    events.RedoOrdered: on_redo_ordered,
    events.SignedFor: on_signed_for,
}
