"""feedback's REST routes: a department's reply and the citizen's rating."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from feedback_service import domain, store
from feedback_service.settings import FeedbackSettings
from shared import events
from shared.runtime import idempotency
from shared.runtime.app import Runtime, RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx

router = APIRouter(prefix="/v1", tags=["feedback"])
Decision = Callable[[domain.Feedback, domain.Holder | None], list[events.Event]]


async def _record(
    runtime: Runtime,
    caller: Principal,
    *,
    appeal_id: UUID,
    key: str | None,
    body: dict[str, Any],
    decide: Decision,
) -> JSONResponse:
    """Decide on the appeal's feedback stream and append, once per Idempotency-Key."""

    async def action(tx: Tx) -> idempotency.StoredResponse:
        holder = await store.holder(tx, appeal_id)
        new, version = await tx.decide(
            appeal_id, domain.evolve, domain.Feedback(), lambda state: decide(state, holder)
        )
        await _track_rating_window(runtime, tx, new[0])
        return idempotency.StoredResponse(
            201,
            {
                "appeal_id": str(appeal_id),
                "event_id": str(new[0].id),
                "type": new[0].type,
                "version": version,
                "time": new[0].time.isoformat(),
            },
        )

    answer = await idempotency.run_once(
        runtime.db,
        scope=f"feedback:{caller.subject}",
        key=key,
        request_body={"appeal_id": str(appeal_id), **body},
        action=action,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


async def _track_rating_window(runtime: Runtime, tx: Tx, fact: events.Event) -> None:
    """A reply opens the round's rating window (the timer records "not rated" when it
    closes); a rating closes it."""
    settings = runtime.settings
    assert isinstance(settings, FeedbackSettings)
    match fact:
        case events.Handled():
            await store.open_rating_window(
                tx,
                fact.subject,
                round_=fact.round,
                closes_at=fact.time + timedelta(hours=settings.rating_window_hours),
            )
        case events.Rated():
            await store.close_rating_window(tx, fact.subject)


@router.post("/appeals/{appeal_id}/replies", status_code=201)
async def post_reply(
    appeal_id: UUID,
    reply: domain.Reply,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("replies:write")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    return await _record(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=reply.model_dump(mode="json"),
        decide=lambda state, holder: domain.handle(
            state,
            reply,
            appeal_id=appeal_id,
            holder=holder,
            department=caller.department,
            actor=caller.actor,
            event_id=uuid4(),
            now=datetime.now(UTC),
        ),
    )


@router.post("/appeals/{appeal_id}/ratings", status_code=201)
async def post_rating(
    appeal_id: UUID,
    rating: domain.Rating,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("ratings:write")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    return await _record(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=rating.model_dump(mode="json"),
        decide=lambda state, _: domain.rate(
            state,
            rating,
            appeal_id=appeal_id,
            actor=caller.actor,
            event_id=uuid4(),
            now=datetime.now(UTC),
        ),
    )


@router.get("/appeals/{appeal_id}/feedback")
async def get_feedback(
    appeal_id: UUID,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("feedback:read")],
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        state, version = await tx.load_state(appeal_id, domain.evolve, domain.Feedback())
        holder = await store.holder(tx, appeal_id)
    if caller.department is not None and (holder is None or holder.department != caller.department):
        state, version, holder = domain.Feedback(), 0, None  # another department's appeal
    return {
        "appeal_id": str(appeal_id),
        "holder": holder.department if holder else None,
        "round": holder.round if holder else None,
        "signed_for": holder.signed_for if holder else False,
        "handled_by": state.handled_by,
        "handled_round": state.handled_round,
        "rated_round": state.rated_round,
        "version": version,
    }
