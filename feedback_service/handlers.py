"""feedback learns who holds each work order, and in which round, from dispatch's facts; who
filed each appeal from intake's; and tells subscribers and citizens what changed."""

from feedback_service import notification_store as nstore
from feedback_service import notify, store
from feedback_service.settings import FeedbackSettings
from shared import events
from shared.runtime.consumer import Handlers, TransientError
from shared.runtime.eventstore import ConcurrencyError, Tx


async def on_appeal_received(event: events.AppealReceived, tx: Tx) -> None:
    await nstore.remember_appeal(tx, event)


async def on_merged(event: events.MergedInto, tx: Tx) -> None:
    await store.merge_child(tx, event.subject, event.parent)


async def on_unmerged(event: events.Unmerged, tx: Tx) -> None:
    await store.unmerge_child(tx, event.subject)  # it will have a work order of its own


async def on_assigned(event: events.Assigned, tx: Tx) -> None:
    await store.hand_to(tx, event, department=event.department, round_=1)
    await notify.status_changed(tx, event)


async def on_redispatched(event: events.Redispatched, tx: Tx) -> None:
    await store.hand_to(tx, event, department=event.department, round_=None)
    await notify.status_changed(tx, event)


async def on_redo_ordered(event: events.RedoOrdered, tx: Tx) -> None:
    await store.hand_to(tx, event, department=event.department, round_=event.round)
    await notify.status_changed(tx, event)


async def on_signed_for(event: events.SignedFor, tx: Tx) -> None:
    await store.mark_signed_for(tx, event.subject, department=event.department)
    await notify.status_changed(tx, event)


async def on_extension_requested(event: events.ExtensionRequested, tx: Tx) -> None:
    await nstore.note_extension_reason(tx, event.subject, event.reason)  # told on approval


async def on_closed(event: events.Closed, tx: Tx) -> None:
    await notify.status_changed(tx, event)


def handlers_for(settings: FeedbackSettings) -> Handlers:
    async def on_extension_approved(event: events.ExtensionApproved, tx: Tx) -> None:
        await notify.status_changed(tx, event)
        try:
            await notify.tell_citizen(tx, settings, event)
        except ConcurrencyError as exc:  # a command appended to the stream meanwhile
            raise TransientError(str(exc)) from exc

    # dispatch's facts about one appeal share a partition and the inbox applies them in
    # offset order, so the latest fact applied here is the latest one dispatch recorded.
    return {
        events.AppealReceived: on_appeal_received,
        events.MergedInto: on_merged,
        events.Unmerged: on_unmerged,
        events.Assigned: on_assigned,
        events.Redispatched: on_redispatched,
        events.RedoOrdered: on_redo_ordered,
        events.SignedFor: on_signed_for,
        events.ExtensionRequested: on_extension_requested,
        events.ExtensionApproved: on_extension_approved,
        events.Closed: on_closed,
    }
