"""Rating links: an operator (or the citizen notice) issues one for an approved round; the
citizen uses it once, without a token, before it expires."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from feedback_service import commands, domain, rating_links, store
from feedback_service.domain import links
from shared.errors import InvalidTransitionError
from shared.runtime.app import Runtime, RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import ConcurrencyError, Tx
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["rating links"])
Token = Annotated[str, Path(min_length=10, max_length=400)]


def _secret(runtime: Runtime) -> bytes:
    key = commands.settings_of(runtime).rating_link_key()
    if key is None:
        raise Problem(
            503, "Rating links unavailable", "no HOTLINE_RATING_LINK_SECRET is configured"
        )
    return key


@router.post("/appeals/{appeal_id}/rating-links", status_code=201)
async def post_rating_link(
    appeal_id: UUID,
    runtime: RuntimeDep,
    _: Annotated[Principal, require("ratings:write")],
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        return await rating_links.issue(
            commands.settings_of(runtime), tx, appeal_id, now=datetime.now(UTC)
        )


def _verified(runtime: Runtime, token: str, now: datetime) -> links.LinkClaims:
    try:
        return links.verify(_secret(runtime), token, now=now)
    except links.LinkError as exc:
        if exc.kind == "expired":
            raise Problem(410, "Rating link expired", str(exc)) from exc
        raise Problem(403, "Invalid rating link", str(exc)) from exc


async def _usable(tx: Tx, claims: links.LinkClaims) -> None:
    issued, used_at = await store.claim_rating_link(tx, claims.nonce)
    if not issued:
        raise Problem(403, "Invalid rating link", "this rating link was never issued")
    if used_at is not None:
        raise Problem(
            409, "Rating link already used", f"this rating link was used at {used_at.isoformat()}"
        )


@router.get("/rating-links/{token}")
async def get_rating_link(token: Token, runtime: RuntimeDep) -> dict[str, Any]:
    """What the link rates, for the citizen's page; no token needed."""
    claims = _verified(runtime, token, datetime.now(UTC))
    async with runtime.db.transaction() as tx:
        await _usable(tx, claims)
    return {
        "appeal_id": str(claims.appeal_id),
        "round": claims.round,
        "expires_at": claims.expires_at.isoformat(),
    }


@router.post("/rating-links/{token}", status_code=201)
async def use_rating_link(token: Token, rating: domain.Rating, runtime: RuntimeDep) -> JSONResponse:
    """The citizen's rating through the link: once, before it expires, for its own round."""
    now = datetime.now(UTC)
    claims = _verified(runtime, token, now)

    def decide(state: domain.Feedback, _: domain.Holder | None) -> list[Any]:
        if state.handled_round != claims.round:
            raise InvalidTransitionError(
                f"this rating link is for round {claims.round}, which has been superseded"
            )
        return domain.rate(
            state,
            rating,
            appeal_id=claims.appeal_id,
            actor="citizen:rating-link",
            event_id=uuid4(),
            now=now,
            via="link",
        )

    # As every feedback command: a stream moved by a citizen notice the consume loop recorded
    # meanwhile is no conflict of the citizen's; decide again.
    for attempt in range(1, commands.CONFLICT_ATTEMPTS + 1):
        try:
            async with runtime.db.transaction() as tx:
                await _usable(tx, claims)
                new, version = await commands.record(runtime, tx, claims.appeal_id, decide)
                await store.use_rating_link(tx, claims.nonce, rated_event_id=new[0].id, now=now)
            return JSONResponse(commands.answer(claims.appeal_id, new, version), status_code=201)
        except ConcurrencyError:
            if attempt == commands.CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
