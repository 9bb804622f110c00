"""Rating links: an operator (or the citizen notice) issues one for an approved round; the
citizen uses it once, without a token, before it expires."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request

from feedback_service import commands, domain, personal, rating_links, views
from feedback_service.domain import links
from feedback_service.routes.deps import RACED, FeedbackRuntime
from feedback_service.routes.feedback import Rating
from feedback_service.settings import FeedbackSettings
from feedback_service.store import rating_links as link_store
from shared.decisions import Context
from shared.runtime import ratelimit
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.runtime.openapi import problem, problems
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["rating links"])
# `<payload>.<signature>`, both base64url: anything else is no link of ours (422)
Token = Annotated[
    str, Path(min_length=10, max_length=400, pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
]
CITIZEN = "citizen:rating-link"
UNAVAILABLE = problem(503, "No key to sign rating links is configured")


@router.post(
    "/appeals/{appeal_id}/rating-links",
    status_code=201,
    responses={**problems(409), **UNAVAILABLE},
)
async def post_rating_link(
    appeal_id: UUID,
    runtime: FeedbackRuntime,
    _: Annotated[Principal, require("ratings:write", centre=True)],
) -> views.RatingLink:
    """A single-use link for the citizen to rate the approved round, until its rating
    window closes."""
    async with runtime.db.transaction() as tx:
        issued = await rating_links.issue(runtime.settings, tx, appeal_id, now=datetime.now(UTC))
    return views.RatingLink.of(issued)


def _verified(settings: FeedbackSettings, token: str, now: datetime) -> links.LinkClaims:
    try:
        return links.verify(rating_links.key_of(settings), token, now=now)
    except links.LinkError as exc:
        if exc.kind == "expired":
            raise Problem(410, "Rating link expired", str(exc)) from exc
        raise Problem(403, "Invalid rating link", str(exc)) from exc


async def _usable(tx: Tx, claims: links.LinkClaims, now: datetime) -> None:
    """The nonce is bound on the server to the appeal, round and expiry it was issued for:
    a link whose signed claims say otherwise (a leaked or rotated key) rates nothing, and
    the server's own expiry is the one that counts."""
    issued = await link_store.claim(tx, claims.nonce)
    if issued is None:
        raise Problem(403, "Invalid rating link", "this rating link was never issued")
    if (issued.appeal_id, issued.round, int(issued.expires_at.timestamp())) != (
        claims.appeal_id,
        claims.round,
        int(claims.expires_at.timestamp()),
    ):
        raise Problem(403, "Invalid rating link", "this rating link was issued for another round")
    if now >= issued.expires_at:
        raise Problem(410, "Rating link expired", "the rating link has expired")
    if issued.used_at is not None:
        raise Problem(
            409,
            "Rating link already used",
            f"this rating link was used at {issued.used_at.isoformat()}",
        )


def _limited(request: Request, runtime: FeedbackRuntime) -> None:
    """Links answer without a token: each client may try only so often (429)."""
    limit = ratelimit.item(runtime.settings.rate_limit_anonymous)
    ratelimit.of(request).hit(limit, "rating-links", ratelimit.client_of(request))


@router.get("/rating-links/{token}", responses={**problems(403, 409, 410, 429), **UNAVAILABLE})
async def get_rating_link(
    token: Token, request: Request, runtime: FeedbackRuntime
) -> views.RatingLinkTarget:
    """What the link rates, for the citizen's page; no token needed."""
    _limited(request, runtime)
    now = datetime.now(UTC)
    claims = _verified(runtime.settings, token, now)
    async with runtime.db.transaction() as tx:
        await _usable(tx, claims, now)
    return views.RatingLinkTarget(
        appeal_id=claims.appeal_id, round=claims.round, expires_at=claims.expires_at
    )


@router.post(
    "/rating-links/{token}",
    status_code=201,
    responses={**problems(403, 409, 410, 429), **UNAVAILABLE, **RACED},
)
async def use_rating_link(
    token: Token, rating: Rating, request: Request, runtime: FeedbackRuntime
) -> views.Recorded:
    """The citizen's rating through the link: once, before it expires, for its own round."""
    _limited(request, runtime)
    context = Context(CITIZEN, datetime.now(UTC))
    claims = _verified(runtime.settings, token, context.now)
    sealed = await personal.sealed_comment(
        runtime.settings, runtime.db, claims.appeal_id, rating.comment
    )
    verdict = domain.Rating(**rating.model_dump(exclude={"comment"}), sealed_comment=sealed)

    async def once() -> views.Recorded:
        async with runtime.db.transaction() as tx:
            await _usable(tx, claims, context.now)
            outcome = await commands.record(
                tx,
                claims.appeal_id,
                lambda state, _, ctx: domain.rate(
                    state,
                    verdict,
                    appeal_id=claims.appeal_id,
                    context=ctx,
                    via="link",
                    for_round=claims.round,
                ),
                context=context,
                config=runtime.settings,
            )
            rated = outcome.new[0].id
            await link_store.use(tx, claims.nonce, rated_event_id=rated, now=context.now)
        return views.Recorded.of(claims.appeal_id, outcome)

    return await commands.retrying(once)
