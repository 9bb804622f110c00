"""Records "not rated" when a round's rating window closes without a rating.

The open window lives on the holder's row (round and closing time), so the sweep needs no
memory of its own; it locks due rows with SKIP LOCKED and settles each through the one
write path, which appends at the version it read, so each round is settled once whoever
sweeps.
"""

from datetime import datetime

from feedback_service import commands
from feedback_service.store import read_models
from shared.runtime.database import Database

SWEEP_LIMIT = 200


async def sweep(db: Database, now: datetime) -> int:
    """Record "not rated" for every window closed by `now` (the caller's clock)."""
    recorded = 0
    async with db.transaction() as tx:
        for appeal_id, round_, closed_at in await read_models.closed_rating_windows(
            tx, now, SWEEP_LIMIT
        ):
            recorded += await commands.settle_rating_window(
                tx, appeal_id, round_=round_, closed_at=closed_at, now=now
            )
    return recorded
