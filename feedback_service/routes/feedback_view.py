"""An appeal's feedback as the caller may see it, with an ETag, answered at once or when it
changes (`Prefer: wait`, shared.runtime.changes): what a department or the centre waits on
after acting elsewhere, instead of polling."""

import hashlib
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from feedback_service import commands, domain, views
from feedback_service.routes.deps import FeedbackRuntime
from feedback_service.store import read_models
from shared.runtime import changes
from shared.runtime.auth import Principal, require
from shared.runtime.commands import state_of

router = APIRouter(prefix="/v1", tags=["feedback"])
ETAG_HEADER = {
    "ETag": {
        "description": "a digest of this representation: send it in If-None-Match to wait"
        " for a change",
        "schema": {"type": "string"},
    }
}


@router.get(
    "/appeals/{appeal_id}/feedback",
    responses={200: {"headers": ETAG_HEADER}, **changes.WAIT_RESPONSES},
    response_model=views.FeedbackView,
)
async def get_feedback(
    appeal_id: UUID,
    runtime: FeedbackRuntime,
    caller: Annotated[Principal, require("feedback:read")],
    response: Response,
    prefer: changes.PreferHeader = None,
    if_none_match: changes.IfNoneMatchHeader = None,
) -> views.FeedbackView | Response:
    """The appeal's feedback; a department sees another's appeal as one it knows nothing of.
    To wait for a change instead of polling: `Prefer: wait=N` with `If-None-Match` naming
    the ETag you hold (shared.runtime.changes)."""

    async def read() -> views.FeedbackView:
        async with runtime.db.read() as tx:
            appeal = await read_models.appeal(tx, appeal_id, to_change=False)
        state, version = state_of(commands.FEEDBACK, appeal.stream)
        return _feedback_view(appeal_id, caller, state, version, appeal.holder)

    view = await changes.conditional_read(
        runtime.changes,
        appeal_id,
        read,
        _etag,
        prefer=prefer,
        if_none_match=if_none_match,
        response=response,
    )
    assert view is not None  # an appeal's feedback is never absent, only empty
    return view


def _etag(view: views.FeedbackView) -> str:
    """A digest of the representation: it also changes with what feedback learns from
    dispatch (the holder, the sign-for), which the stream's version does not count."""
    return f'"{hashlib.sha256(view.model_dump_json().encode()).hexdigest()[:32]}"'


def _feedback_view(
    appeal_id: UUID,
    caller: Principal,
    state: domain.Feedback,
    version: int,
    holder: domain.Holder | None,
) -> views.FeedbackView:
    if caller.department is not None and (holder is None or holder.department != caller.department):
        state, version, holder = domain.Feedback(), 0, None  # another department's appeal
    return views.FeedbackView(
        appeal_id=appeal_id,
        holder=holder.department if holder else None,
        round=holder.round if holder else None,
        signed_for=holder.signed_for if holder else False,
        handled_by=state.handled_by,
        handled_round=state.handled_round,
        review=state.review,
        approved_round=state.approved_round,
        callback_due=state.callback_due,
        callbacks=state.callbacks,
        rated_round=state.rated_round,
        version=version,
    )
