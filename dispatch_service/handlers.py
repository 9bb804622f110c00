"""dispatch's reactions to intake's and feedback's facts."""

from datetime import UTC, datetime
from uuid import uuid4

from dispatch_service import domain, store
from shared import events
from shared.runtime.consumer import Handlers, TransientError
from shared.runtime.eventstore import Tx


async def on_appeal_received(event: events.AppealReceived, tx: Tx) -> None:
    try:
        table = await store.current_routing(tx)
    except LookupError as exc:  # not configured yet: wait for it rather than park every appeal
        raise TransientError(str(exc)) from exc
    new = domain.assign(event, table, event_id=uuid4(), now=datetime.now(UTC))
    await _record(tx, event, None, new, expected_version=0)


async def on_rated(event: events.Rated, tx: Tx) -> None:
    order, version = await tx.load_state(event.subject, domain.evolve, None)
    new = domain.on_rated(order, event, event_id=uuid4(), now=datetime.now(UTC))
    await _record(tx, event, order, new, expected_version=version)


async def _record(
    tx: Tx,
    cause: events.Event,
    order: domain.WorkOrder | None,
    new: list[events.Event],
    *,
    expected_version: int,
) -> None:
    """Append the decision's events and update the work-order view in the same transaction."""
    if not new:
        return
    version = await tx.append(cause.subject, new, expected_version=expected_version)
    for event in new:
        order = domain.evolve(order, event)
    assert order is not None
    await store.save_work_order(tx, order, version=version, event=new[-1])


HANDLERS: Handlers = {
    events.AppealReceived: on_appeal_received,
    events.Rated: on_rated,
}
