"""The working-day calendar's commands: an operator publishes a year's arrangement (a new
calendar version, on the calendar's own stream), and the timer recomputes the provisional
deadlines a newly published year settles, one work order at a time through the one write
path, each as a new fact."""

from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

from dispatch_service import commands, store
from dispatch_service.domain import calendar as domain_calendar
from dispatch_service.domain import sla
from shared import events
from shared.decisions import Context
from shared.runtime import metrics
from shared.runtime.commands import Aggregate, Decide, Outcome, execute, load
from shared.runtime.eventstore import Tx
from shared.workdays import Arrangement, WorkdayCalendar

RECOMPUTE_LIMIT = 200


async def _project(
    tx: Tx, _published: domain_calendar.Published, new: Sequence[events.Event], _version: int
) -> None:
    for fact in new:
        if isinstance(fact, events.CalendarPublished):
            await store.save_calendar_version(tx, fact)


CALENDAR: Aggregate[domain_calendar.Published, Tx] = Aggregate(
    "working-day calendar", (), domain_calendar.evolve_calendar, _project
)


async def publish_year(
    tx: Tx,
    arrangement: Arrangement,
    *,
    note: str | None,
    actor: str,
    now: datetime,
) -> Outcome[domain_calendar.Published]:
    """Publish the year's arrangement as the next calendar version. The calendar is one
    stream whose version is the calendar's number; its id is drawn at the first publication,
    so each deployment's calendar is a hash chain of its own."""
    stream_id = await store.lock_calendar(tx) or uuid4()
    return await execute(
        tx,
        CALENDAR,
        stream_id,
        lambda published, context: domain_calendar.publish_year(
            published, arrangement, stream_id=stream_id, note=note, context=context
        ),
        context=Context(actor=actor, now=now),
    )


async def recompute_provisional(tx: Tx, now: datetime) -> int:
    """Recompute the deadlines of open work orders provisional on a year now published;
    how many facts were recorded. Also refreshes the provisional-deadlines gauge."""
    calendar = await store.current_calendar(tx)
    recorded = 0
    for appeal_id in await store.provisional_work_orders(
        tx, sorted(calendar.published), RECOMPUTE_LIMIT
    ):
        loaded = order, _ = await load(tx, commands.WORK_ORDER, appeal_id)
        if order is None:
            continue
        policy = await store.policy_version(tx, order.deadlines.policy_version)
        outcome = await execute(
            tx,
            commands.WORK_ORDER,
            appeal_id,
            _recompute(policy, calendar),
            context=commands.by_service(now),
            loaded=loaded,
        )
        recorded += len(outcome.new)
    metrics.DEADLINES_PROVISIONAL.labels("dispatch").set(await store.count_provisional(tx))
    return recorded


def _recompute(policy: sla.SlaPolicy, calendar: WorkdayCalendar) -> Decide[commands.State]:
    def decide(order: commands.State, context: Context) -> list[events.Event]:
        return domain_calendar.recompute_deadlines(
            order, policy=policy, calendar=calendar, context=context
        )

    return decide
