"""intake's read model of an appeal kept in step with its facts, in the transaction that
appends them: the appeals row (status, classification, merge, the front office's outcome)
and the Open311 update feed."""

from collections.abc import Sequence
from typing import Any

from intake_service import domain, store
from intake_service.open311 import updates as open311_updates
from shared import events
from shared.runtime.eventstore import Tx


async def advance(tx: Tx, event: events.Event) -> None:
    """The appeal's status after a fact of any service, if the fact moves it."""
    current = await store.lock_progress(tx, event.subject)
    if current is None:
        return  # an appeal filed elsewhere
    new = domain.progress_after(event, current[0])
    if new is not None and domain.applies(event, current, new=new):
        await store.set_progress(tx, event.subject, new, event.time)


async def project(tx: Tx, _: domain.Appeal | None, new: Sequence[events.Event], __: int) -> None:
    """The appeals row, and the Open311 update feed, after the appeal's new facts."""
    for event in new:
        match event:
            case events.AppealReceived():
                await store.add(tx, event)
                continue
            case events.AppealClassified():
                await store.set_classification(tx, event.subject, event)
            case events.MergedInto(parent=parent):
                await store.set_merged(tx, event.subject, parent, event.time)
                await store.set_outcome(tx, event.subject, _outcome(event))
            case events.WithdrawalRequested():
                # Shown beside the status, which stays the work order's until dispatch answers;
                # a pending merge names its parent (store.joined_or_joining reads it).
                joining = event.details.get("parent")
                await store.set_outcome(
                    tx,
                    event.subject,
                    {"withdrawal": "pending", "outcome": event.outcome, "reason": event.reason}
                    | ({"parent": joining} if joining else {}),
                )
            case events.OutcomeAbandoned():
                await store.set_outcome(
                    tx,
                    event.subject,
                    {"withdrawal": "refused", "outcome": event.outcome, "reason": event.reason},
                )
            case events.Unmerged():
                await store.set_merged(tx, event.subject, None, event.time)
                await store.set_outcome(tx, event.subject, None)  # back at the front office
            case (
                events.AnsweredDirectly()
                | events.TransferredToEmergency()
                | events.AppealRejected()
            ):
                await store.set_outcome(tx, event.subject, _outcome(event))
        await advance(tx, event)
    # after the row exists: an update needs the appeal's row (and locks it)
    await open311_updates.record(tx, new)


def _outcome(event: events.Event) -> dict[str, Any]:
    """A settled outcome as the appeal's row shows it."""
    return event.model_dump(
        mode="json", exclude={"id", "subject", "correlation_id", "causation_id"}
    )
