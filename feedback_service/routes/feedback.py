"""The department's reply, the hotline centre's review, callbacks and ratings, and the
operators' queue of callbacks due."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from feedback_service import commands, domain, personal, views
from feedback_service.routes.deps import PAGED, RACED, FeedbackRuntime, Limit
from feedback_service.store import calendar as calendar_store
from feedback_service.store import read_models
from shared import events
from shared.runtime import idempotency, pagination, positions
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.problems import invalid_field

router = APIRouter(prefix="/v1", tags=["feedback"])
AttachmentRef = Annotated[str, Field(min_length=1, max_length=500)]


class Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    result: events.HandlingResult
    reply: events.Text  # what was done; for "unsolvable", why it cannot be solved
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=20)
    person: str | None = Field(default=None, min_length=1, max_length=100)


class ReviewDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    decision: Literal["approved", "sent_back"]
    reason: events.Text | None = Field(default=None, description="required to send back")


_AT_FAULT = Field(
    default=None,
    description="the citizen holds the department at fault (its handling or attitude), "
    "not the demand itself; with 'dissatisfied', this or an unsolved problem orders a redo",
)


_COMMENT = (
    "the citizen's words: sealed under their key in the fact, erased with their data "
    "(not kept for an appeal filed before sealing without a key)"
)


class Rating(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    satisfaction: events.Satisfaction
    solved: bool
    comment: str | None = Field(default=None, max_length=2000, description=_COMMENT)
    department_at_fault: bool | None = _AT_FAULT
    attitude: events.Attitude | None = Field(
        default=None, description="the department's attitude as the citizen saw it, if asked"
    )


class Callback(BaseModel):
    """One callback attempt; a reached citizen gives satisfaction and solved."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reached: bool
    satisfaction: events.Satisfaction | None = None
    solved: bool | None = None
    comment: str | None = Field(default=None, max_length=2000, description=_COMMENT)
    department_at_fault: bool | None = _AT_FAULT
    attitude: events.Attitude | None = Field(
        default=None, description="the department's attitude as the citizen saw it, if asked"
    )


@router.post(
    "/appeals/{appeal_id}/replies",
    status_code=201,
    responses={**problems(403, 404, 409), **RACED},
)
async def post_reply(
    appeal_id: UUID,
    reply: Reply,
    runtime: FeedbackRuntime,
    caller: Annotated[Principal, require("replies:write")],
    idempotency_key: idempotency.KeyHeader = None,
    seen: positions.SeenVersion = None,
) -> views.Recorded:
    """The holding department's reply, after signing for the work order, once a round. A
    department that has just signed for it (or just been given it) passes the work order's
    version from dispatch's answer in X-Work-Order-Version: the reply is then judged on a
    view of the holder at least that recent (409 with Retry-After if it is not there within
    2 s), never refused on an older holder."""
    await positions.await_seen(runtime.db, "dispatch", appeal_id, seen)
    answer = domain.Reply(**reply.model_dump())
    body = await commands.command(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=reply,
        decide=lambda state, holder, ctx: domain.handle(
            state,
            answer,
            appeal_id=appeal_id,
            holder=holder,
            department=caller.department,
            context=ctx,
        ),
        answer=views.Recorded.of,
    )
    return views.Recorded.model_validate(body)


@router.post("/appeals/{appeal_id}/reviews", status_code=201, responses={**problems(409), **RACED})
async def post_review(
    appeal_id: UUID,
    decision: ReviewDecision,
    runtime: FeedbackRuntime,
    caller: Annotated[Principal, require("workorders:dispatch", centre=True)],
    idempotency_key: idempotency.KeyHeader = None,
) -> views.Reviewed:
    """The hotline centre approves the reply (a callback falls due) or sends it back."""
    if decision.decision == "sent_back" and decision.reason is None:
        raise invalid_field("body.reason", "a reply is sent back with a reason")
    now = datetime.now(UTC)
    async with runtime.db.read() as tx:  # versions never change once learnt: no transaction
        calendar = await calendar_store.current_calendar(tx)
    config = runtime.settings
    due = domain.callback_due(
        now,
        calendar,
        working_days=config.callback_working_days,
        hours=config.callback_due_hours,
    )
    reviewed = domain.ReviewDecision(decision.decision, decision.reason)
    body = await commands.command(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=decision,
        decide=lambda state, holder, ctx: domain.review(
            state,
            reviewed,
            appeal_id=appeal_id,
            holder=holder,
            callback_due=due,
            calendar=calendar.version,
            rating_window=timedelta(hours=config.rating_window_hours),
            context=ctx,
        ),
        answer=lambda a, outcome: views.Reviewed.reviewed(a, outcome),
        now=now,
    )
    return views.Reviewed.model_validate(body)


@router.post("/appeals/{appeal_id}/ratings", status_code=201, responses={**problems(409), **RACED})
async def post_rating(
    appeal_id: UUID,
    rating: Rating,
    runtime: FeedbackRuntime,
    caller: Annotated[Principal, require("ratings:write", centre=True)],
    idempotency_key: idempotency.KeyHeader = None,
) -> views.Recorded:
    """An operator records the citizen's rating of the approved round (the comment sealed
    under the citizen's key: 503 if intake cannot be asked for it)."""
    sealed = await personal.sealed_comment(runtime.settings, runtime.db, appeal_id, rating.comment)
    verdict = domain.Rating(**rating.model_dump(exclude={"comment"}), sealed_comment=sealed)
    body = await commands.command(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=rating,
        decide=lambda state, _, ctx: domain.rate(state, verdict, appeal_id=appeal_id, context=ctx),
        answer=views.Recorded.of,
    )
    return views.Recorded.model_validate(body)


@router.post(
    "/appeals/{appeal_id}/callbacks", status_code=201, responses={**problems(409), **RACED}
)
async def post_callback(
    appeal_id: UUID,
    call: Callback,
    runtime: FeedbackRuntime,
    caller: Annotated[Principal, require("ratings:write", centre=True)],
    idempotency_key: idempotency.KeyHeader = None,
) -> views.CalledBack:
    """One callback attempt, always recorded: 201 with `counted` saying whether it set the
    round's rating (only the first that reaches the citizen does)."""
    if call.reached:
        for field in ("satisfaction", "solved"):
            if getattr(call, field) is None:
                raise invalid_field(f"body.{field}", "required when the citizen was reached")
    elif (call.satisfaction, call.solved, call.department_at_fault, call.attitude) != (
        None,
        None,
        None,
        None,
    ):
        raise invalid_field("body.reached", "a citizen not reached gives no verdict")
    settings = runtime.settings
    sealed = await personal.sealed_comment(settings, runtime.db, appeal_id, call.comment)
    attempt = domain.Callback(**call.model_dump(exclude={"comment"}), sealed_comment=sealed)
    body = await commands.command(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=call,
        decide=lambda state, _, ctx: domain.call_back(
            state,
            attempt,
            appeal_id=appeal_id,
            max_attempts=settings.callback_max_attempts,
            retry_after=timedelta(hours=settings.callback_retry_hours),
            context=ctx,
        ),
        answer=views.CalledBack.made,
    )
    return views.CalledBack.model_validate(body)


@router.get("/callbacks", responses=PAGED)
async def callbacks_due(
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    caller: Annotated[Principal, require("feedback:read")],
    due_by: events.UtcDatetime | None = None,
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[views.CallbackDue]:
    """Approved replies awaiting a callback, the most overdue first (a department's token
    sees its own)."""
    after = pagination.decode(cursor, datetime, UUID) if cursor else None
    async with runtime.db.read() as tx:
        rows = await read_models.list_callbacks_due(
            tx,
            due_by=due_by,
            department=caller.department,
            after=(after[0], after[1]) if after else None,
            limit=limit,
        )
    now = datetime.now(UTC)
    items = [views.CallbackDue(**row, overdue=row["due_at"] <= now) for row in rows]
    return pagination.page(
        items,
        limit=limit,
        key=lambda c: (c.due_at, c.appeal_id),
        request=request,
        response=response,
    )
