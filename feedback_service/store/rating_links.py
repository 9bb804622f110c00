"""The rating links' SQL: each link's nonce, bound when issued to the appeal's round and
its expiry, claimed once (`feedback_service.rating_links`, `routes/links.py`)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update

from feedback_service.store.tables import rating_links
from shared.runtime.eventstore import Tx


@dataclass(frozen=True, slots=True)
class IssuedRatingLink:
    """What the server bound a nonce to when it issued the link."""

    appeal_id: UUID
    round: int
    expires_at: datetime
    used_at: datetime | None


async def issue(
    tx: Tx, *, nonce: str, appeal_id: UUID, round_: int, expires_at: datetime, now: datetime
) -> None:
    await tx.conn.execute(
        rating_links.insert().values(
            nonce=nonce, appeal_id=appeal_id, round=round_, expires_at=expires_at, issued_at=now
        )
    )


async def claim(tx: Tx, nonce: str) -> IssuedRatingLink | None:
    """Lock the link's row and read what it was issued for (None: never issued here). A
    racing second use waits for the first to commit and then sees it used."""
    row = (
        await tx.conn.execute(
            select(
                rating_links.c.appeal_id,
                rating_links.c.round,
                rating_links.c.expires_at,
                rating_links.c.used_at,
            )
            .where(rating_links.c.nonce == nonce)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    return IssuedRatingLink(row.appeal_id, row.round, row.expires_at, row.used_at)


async def use(tx: Tx, nonce: str, *, rated_event_id: UUID, now: datetime) -> None:
    await tx.conn.execute(
        update(rating_links)
        .where(rating_links.c.nonce == nonce)
        .values(used_at=now, rated_event_id=rated_event_id)
    )
