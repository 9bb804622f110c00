"""How facts reach intake's read model: `record` appends the front office's own decisions
and projects them in the same transaction; `on_progress` follows other services' facts
only to show an appeal's status and which department holds it."""

from uuid import UUID

from intake_service import domain, store
from intake_service.open311 import updates as open311_updates
from shared import events
from shared.runtime.consumer import Handlers
from shared.runtime.eventstore import Tx


async def _advance(tx: Tx, event: events.Event) -> None:
    current = await store.lock_progress(tx, event.subject)
    if current is None:
        return  # an appeal filed elsewhere
    new = domain.progress_after(event, current[0])
    if new is not None and domain.applies(event, current, new):
        await store.set_progress(tx, event.subject, new, event.time)


async def project(tx: Tx, event: events.Event) -> None:
    """One of intake's own facts (other than appeal.received) into the read model."""
    match event:
        case events.AppealClassified():
            await store.set_classification(tx, event.subject, event)
        case events.MergedInto(parent=parent):
            await store.set_merged(tx, event.subject, parent, event.time)
        case events.Unmerged():
            await store.set_merged(tx, event.subject, None, event.time)
        case events.AnsweredDirectly() | events.TransferredToEmergency() | events.AppealRejected():
            outcome = event.model_dump(
                mode="json", exclude={"id", "subject", "correlation_id", "causation_id"}
            )
            await store.set_outcome(tx, event.subject, outcome)
    await _advance(tx, event)


async def record(tx: Tx, appeal_id: UUID, new: list[events.Event], *, expected_version: int) -> int:
    """Append the front office's decision and project it: one transaction, no dual write."""
    version = await tx.append(appeal_id, new, expected_version=expected_version)
    for event in new:
        if not isinstance(event, events.AppealReceived):
            await project(tx, event)
    await open311_updates.record(tx, new)
    return version


async def on_progress(event: events.Event, tx: Tx) -> None:
    await _advance(tx, event)
    if isinstance(event, events.Assigned | events.Redispatched):
        # facts of one dispatch stream arrive in order: the latest lead is the holder
        await store.set_department(tx, event.subject, event.department)


HANDLERS: Handlers = dict.fromkeys(
    (
        events.Assigned,
        events.Redispatched,
        events.SignedFor,
        events.RedoOrdered,
        events.Closed,
        events.Handled,
        events.ReplyReviewed,
        events.NotRated,
        events.Rated,
    ),
    on_progress,
)
# Every public dispatch and feedback fact also becomes an Open311 update.
HANDLERS = open311_updates.with_updates(HANDLERS)
