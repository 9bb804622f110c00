"""feedback learns who holds each work order, and in which round, from dispatch's facts; who
filed each appeal, and which are merged, from intake's; and tells subscribers and citizens
what changed.

dispatch's facts about one appeal share a partition and the inbox applies them in offset
order, so the latest fact applied here is the latest one dispatch recorded.
"""

from feedback_service import commands, leadership, notify, settings
from feedback_service.store import calendar, notifications, read_models
from shared import events
from shared.runtime.commands import StaleStreamError
from shared.runtime.consumer import Handlers
from shared.runtime.deliveries import TransientError
from shared.runtime.eventstore import Tx


async def on_appeal_received(event: events.AppealReceived, tx: Tx) -> None:
    await notifications.remember_appeal(tx, event)


async def on_personal_data_erased(event: events.PersonalDataErased, tx: Tx) -> None:
    await notifications.forget_personal_data(tx, event.subject)


async def on_merged(event: events.MergedInto, tx: Tx) -> None:
    await read_models.merge_child(tx, event.subject, event.parent)


async def on_unmerged(event: events.Unmerged, tx: Tx) -> None:
    await read_models.unmerge_child(tx, event.subject)  # it will have a work order of its own


async def on_assigned(event: events.Assigned, tx: Tx) -> None:
    await read_models.hand_to(tx, event, department=event.department, round_=1)
    await notify.status_changed(tx, event)


async def on_redispatched(event: events.Redispatched, tx: Tx) -> None:
    # a new round when the lead before replied (the new lead replies anew); else it goes on
    await read_models.hand_to(tx, event, department=event.department, round_=event.round)
    await notify.status_changed(tx, event)


async def on_redo_ordered(event: events.RedoOrdered, tx: Tx) -> None:
    await read_models.hand_to(tx, event, department=event.department, round_=event.round)
    await notify.status_changed(tx, event)


async def on_signed_for(event: events.SignedFor, tx: Tx) -> None:
    await read_models.mark_signed_for(tx, event.subject, department=event.department)
    await notify.status_changed(tx, event)


async def on_extension_requested(event: events.ExtensionRequested, tx: Tx) -> None:
    await notifications.note_extension_reason(tx, event.subject, event.reason)  # told on approval


async def on_extension_approved(event: events.ExtensionApproved, tx: Tx) -> None:
    await notify.status_changed(tx, event)
    try:
        await commands.tell_citizen(tx, settings.current(), event)
    except StaleStreamError as exc:  # a command appended to the stream meanwhile: retry
        raise TransientError(str(exc)) from exc


async def on_calendar_published(event: events.CalendarPublished, tx: Tx) -> None:
    await calendar.learn(tx, event)  # callbacks fall due on dispatch's calendar


async def on_escalated(event: events.EscalatedToCentre, tx: Tx) -> None:
    await notify.status_changed(tx, event)
    await leadership.enqueue(tx, event)


async def on_supervised(event: events.Supervised, tx: Tx) -> None:
    await leadership.enqueue(tx, event)  # escalations only


async def on_closed(event: events.Closed, tx: Tx) -> None:
    await notify.status_changed(tx, event)


async def on_withdrawn(event: events.Withdrawn, tx: Tx) -> None:
    # Nobody signed for it, so nobody can reply to it: partners hear it closed as withdrawn.
    await notify.status_changed(tx, event)


HANDLERS: Handlers = {
    events.AppealReceived: on_appeal_received,
    events.PersonalDataErased: on_personal_data_erased,
    events.MergedInto: on_merged,
    events.Unmerged: on_unmerged,
    events.Assigned: on_assigned,
    events.Redispatched: on_redispatched,
    events.RedoOrdered: on_redo_ordered,
    events.SignedFor: on_signed_for,
    events.ExtensionRequested: on_extension_requested,
    events.ExtensionApproved: on_extension_approved,
    events.EscalatedToCentre: on_escalated,
    events.Supervised: on_supervised,
    events.Closed: on_closed,
    events.CalendarPublished: on_calendar_published,
    events.Withdrawn: on_withdrawn,
}
