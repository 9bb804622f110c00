"""Issuing a rating link: for an operator to send, or with the citizen's reply notice."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from feedback_service import domain, following
from feedback_service.domain import links
from feedback_service.settings import FeedbackSettings
from feedback_service.store import rating_links as link_store
from feedback_service.store import read_models
from shared.errors import InvalidTransitionError
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem


@dataclass(frozen=True, slots=True)
class IssuedLink:
    appeal_id: UUID
    round: int
    token: str
    url: str
    expires_at: datetime


def key_of(settings: FeedbackSettings) -> bytes:
    """The key signing rating links, or a 503 problem when production has none."""
    key = settings.rating_link_key()
    if key is None:
        raise Problem(
            503, "Rating links unavailable", "no HOTLINE_RATING_LINK_SECRET is configured"
        )
    return key


async def issue(
    settings: FeedbackSettings, tx: Tx, appeal_id: UUID, *, now: datetime
) -> IssuedLink:
    """A link for the appeal's approved, unsettled round, expiring when its window closes; a
    merged child's is for its parent's round, rated on its own stream."""
    key = key_of(settings)
    parent = (await read_models.appeal(tx, appeal_id, to_change=False)).parent
    seen = await following.seen(tx, appeal_id, parent)
    state = seen.view((await tx.load_state(appeal_id, domain.evolve, domain.Feedback()))[0])
    if not state.approved or state.settled:
        raise InvalidTransitionError(f"appeal {appeal_id} has no approved reply awaiting a rating")
    expires_at = await read_models.rating_window_closes_at(tx, appeal_id, state.handled_round)
    if expires_at is None or expires_at <= now:
        raise InvalidTransitionError(f"the rating window of appeal {appeal_id} has closed")
    claims = links.LinkClaims(appeal_id, state.handled_round, expires_at, secrets.token_hex(16))
    await link_store.issue(
        tx,
        nonce=claims.nonce,
        appeal_id=appeal_id,
        round_=claims.round,
        expires_at=expires_at,
        now=now,
    )
    token = links.sign(key, claims)
    url = f"{settings.rating_link_base_url.rstrip('/')}/{token}"
    return IssuedLink(appeal_id, claims.round, token, url, expires_at)
