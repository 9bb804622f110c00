"""The durable timer: records warnings and overdue marks when their time comes.

Nothing is scheduled in memory. Each work order's view row holds the time of its next mark;
a sweep takes the rows that are due (FOR UPDATE SKIP LOCKED, so replicas share the work
without waiting on each other), decides on the stream's state and appends at the version
it read. A mark is part of the stream's state once recorded, so a second sweep, a restart
or a racing replica finds nothing left to record: each mark is written exactly once. The
same sweep recomputes the provisional deadlines of a newly published calendar year.
"""

from datetime import datetime

from dispatch_service import calendars, commands, domain, store
from shared import events
from shared.decisions import Context
from shared.runtime.commands import Decide, execute
from shared.runtime.database import Database

SWEEP_LIMIT = 200


async def sweep(db: Database, now: datetime) -> int:
    """Record every mark due at `now` (the clock is the caller's); returns how many."""
    recorded = 0
    async with db.transaction() as tx:
        for appeal_id in await store.due_for_signals(tx, now, SWEEP_LIMIT):
            handled_round = await store.handled_round(tx, appeal_id)
            outcome = await execute(
                tx,
                commands.WORK_ORDER,
                appeal_id,
                _marks_due(handled_round),
                context=commands.by_service(now),
            )
            if not outcome.new and outcome.state is not None:
                # Nothing due after all (the index was ahead of the stream): refresh the index.
                await store.save_work_order(
                    tx,
                    outcome.state,
                    version=outcome.version,
                    at=now,
                    handled_round=handled_round,
                    now=now,
                )
            recorded += len(outcome.new)
    async with db.transaction() as tx:
        # Deadlines a newly published calendar year settles: each recomputed as a new fact.
        recorded += await calendars.recompute_provisional(tx, now)
    return recorded


def _marks_due(handled_round: int) -> Decide[commands.State]:
    """The marks due on a work order whose replied round is `handled_round`."""

    def decide(order: commands.State, context: Context) -> list[events.Event]:
        handled = order is not None and handled_round >= order.round
        return domain.due_signals(order, handled=handled, context=context)

    return decide
