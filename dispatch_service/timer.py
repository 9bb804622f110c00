"""The durable timer: records warnings and overdue marks when their time comes.

Nothing is scheduled in memory. Each work order's view row holds the time of its next mark;
a sweep takes the rows that are due (FOR UPDATE SKIP LOCKED, so replicas share the work
without waiting on each other), decides on the stream's state and appends at the version
it read. A mark is part of the stream's state once recorded, so a second sweep, a restart
or a racing replica finds nothing left to record: each mark is written exactly once.
"""

from datetime import datetime

from dispatch_service import domain, handlers, store
from shared.runtime.eventstore import Database

SWEEP_LIMIT = 200


async def sweep(db: Database, now: datetime) -> int:
    """Record every mark due at `now` (the clock is the caller's); returns how many."""
    recorded = 0
    async with db.transaction() as tx:
        for appeal_id in await store.due_for_signals(tx, now, SWEEP_LIMIT):
            order, version = await tx.load_state(appeal_id, domain.evolve, None)
            handled = order is not None and await store.handled_round(tx, appeal_id) >= order.round
            new = domain.due_signals(order, handled=handled, meta=handlers.meta(now=now))
            await handlers.record(tx, appeal_id, order, new, expected_version=version, now=now)
            if not new and order is not None:  # nothing due after all: refresh the index
                await store.save_work_order(
                    tx,
                    order,
                    version=version,
                    at=now,
                    handled_round=await store.handled_round(tx, appeal_id),
                    now=now,
                )
            recorded += len(new)
    return recorded
