"""feedback's REST routes: a department's reply and the citizen's rating."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter

from feedback_service import domain, store
from shared import events
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require

router = APIRouter(prefix="/v1", tags=["feedback"])


def _created(appeal_id: UUID, event: events.Event, version: int) -> dict[str, Any]:
    return {
        "appeal_id": str(appeal_id),
        "event_id": str(event.id),
        "type": event.type,
        "version": version,
        "time": event.time.isoformat(),
    }


@router.post("/appeals/{appeal_id}/replies", status_code=201)
async def post_reply(
    appeal_id: UUID,
    reply: domain.Reply,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("replies:write")],
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        state, version = await tx.load_state(appeal_id, domain.evolve, domain.Feedback())
        new = domain.handle(
            state,
            reply,
            appeal_id=appeal_id,
            holder=await store.holder(tx, appeal_id),
            department=caller.department,
            actor=caller.actor,
            event_id=uuid4(),
            now=datetime.now(UTC),
        )
        version = await tx.append(appeal_id, new, expected_version=version)
    return _created(appeal_id, new[0], version)


@router.post("/appeals/{appeal_id}/ratings", status_code=201)
async def post_rating(
    appeal_id: UUID,
    rating: domain.Rating,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("ratings:write")],
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        state, version = await tx.load_state(appeal_id, domain.evolve, domain.Feedback())
        new = domain.rate(
            state,
            rating,
            appeal_id=appeal_id,
            actor=caller.actor,
            event_id=uuid4(),
            now=datetime.now(UTC),
        )
        version = await tx.append(appeal_id, new, expected_version=version)
    return _created(appeal_id, new[0], version)


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
        "handled_by": state.handled_by,
        "rated": state.rated,
        "version": version,
    }
