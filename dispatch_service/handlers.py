"""dispatch's reactions to other services' facts, and `record`, the one way a decision is
stored: append, fold, refresh the work-order view, all in the caller's transaction."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from dispatch_service import domain, store
from shared import events
from shared.runtime.consumer import Handlers, TransientError
from shared.runtime.eventstore import Tx
from shared.workdays import WorkdayCalendar

CALENDAR = WorkdayCalendar()
SERVICE_ACTOR = "service:dispatch"


def meta(
    *, actor: str = SERVICE_ACTOR, now: datetime | None = None, causation_id: UUID | None = None
) -> domain.Meta:
    return domain.Meta(
        actor=actor, now=now or datetime.now(UTC), new_id=uuid4, causation_id=causation_id
    )


async def record(
    tx: Tx,
    appeal_id: UUID,
    order: domain.WorkOrder | None,
    new: list[events.Event],
    *,
    expected_version: int,
    now: datetime,
) -> tuple[domain.WorkOrder | None, int]:
    if not new:
        return order, expected_version
    handled = 0 if order is None else await store.handled_round(tx, appeal_id)  # new: none
    version = await tx.append(appeal_id, new, expected_version=expected_version)
    for event in new:
        order = domain.evolve(order, event)
    assert order is not None
    await store.save_work_order(
        tx, order, version=version, at=new[-1].time, handled_round=handled, now=now
    )
    return order, version


async def on_appeal_forwarded(event: events.AppealForwarded, tx: Tx) -> None:
    try:
        table, policy = await store.current_routing(tx), await store.current_policy(tx)
    except LookupError as exc:  # not configured yet: wait for it rather than park every appeal
        raise TransientError(str(exc)) from exc
    decided = meta(causation_id=event.id)
    new = domain.assign(event, table, policy, CALENDAR, decided)
    await record(tx, event.subject, None, new, expected_version=0, now=decided.now)


async def on_handled(event: events.Handled, tx: Tx) -> None:
    # The handling clock stops for this round once the department has replied.
    order, version = await tx.load_state(event.subject, domain.evolve, None)
    if order is None:
        return
    await store.save_work_order(
        tx, order, version=version, at=event.time, handled_round=event.round, now=event.time
    )


async def on_reply_reviewed(event: events.ReplyReviewed, tx: Tx) -> None:
    # A reply sent back is no reply: the handling clock runs again until the next one.
    order, version = await tx.load_state(event.subject, domain.evolve, None)
    handled = await store.handled_round(tx, event.subject)
    standing = domain.handled_round_after_review(order, event, handled_round=handled)
    if order is None or standing == handled:
        return
    await store.save_work_order(
        tx, order, version=version, at=event.time, handled_round=standing, now=event.time
    )


async def on_rated(event: events.Rated, tx: Tx) -> None:
    order, version = await tx.load_state(event.subject, domain.evolve, None)
    decided = meta(causation_id=event.id)
    new = domain.on_rated(
        order, event, policy=await store.current_policy(tx), calendar=CALENDAR, meta=decided
    )
    await record(tx, event.subject, order, new, expected_version=version, now=decided.now)


async def on_not_rated(event: events.NotRated, tx: Tx) -> None:
    order, version = await tx.load_state(event.subject, domain.evolve, None)
    decided = meta(causation_id=event.id)
    new = domain.on_not_rated(order, event, decided)
    await record(tx, event.subject, order, new, expected_version=version, now=decided.now)


HANDLERS: Handlers = {
    events.NotRated: on_not_rated,
    events.AppealForwarded: on_appeal_forwarded,
    events.Handled: on_handled,
    events.Rated: on_rated,
    events.ReplyReviewed: on_reply_reviewed,
}
