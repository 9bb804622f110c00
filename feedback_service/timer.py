"""Records "not rated" when a round's rating window closes without a rating.

The open window lives on the holder's row (round and closing time), so the sweep needs no
memory of its own; it locks due rows with SKIP LOCKED, decides on the feedback stream and
appends at the version it read, so each round is settled once whoever sweeps.
"""

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from feedback_service import domain, notify, store
from shared import events
from shared.runtime.eventstore import Database

SWEEP_LIMIT = 200
ACTOR = "service:feedback"


async def sweep(db: Database, now: datetime) -> int:
    """Record "not rated" for every window closed by `now` (the caller's clock)."""
    recorded = 0
    async with db.transaction() as tx:
        for appeal_id, round_, closed_at in await store.closed_rating_windows(tx, now, SWEEP_LIMIT):

            def settle(
                state: domain.Feedback,
                *,
                appeal_id: UUID = appeal_id,
                round_: int = round_,
                closed_at: datetime = closed_at,
            ) -> list[events.Event]:
                return domain.expire_rating(
                    state,
                    round_=round_,
                    window_closed_at=closed_at,
                    appeal_id=appeal_id,
                    actor=ACTOR,
                    event_id=uuid4(),
                    now=now,
                )

            new, _ = await tx.decide(appeal_id, domain.evolve, domain.Feedback(), settle)
            await store.close_rating_window(tx, appeal_id)
            for fact in new:
                await store.project(tx, fact, rating_window=timedelta(0))  # the window is past
                await notify.status_changed(tx, fact)
            recorded += len(new)
    return recorded
