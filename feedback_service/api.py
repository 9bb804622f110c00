"""feedback's REST routes: the department's reply, the hotline centre's review, callbacks and
ratings, and the operators' queue of callbacks due."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from feedback_service import commands, domain, store
from shared import events
from shared.runtime import idempotency
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.workdays import WorkdayCalendar

router = APIRouter(prefix="/v1", tags=["feedback"])
CALENDAR = WorkdayCalendar()


@router.post("/appeals/{appeal_id}/replies", status_code=201)
async def post_reply(
    appeal_id: UUID,
    reply: domain.Reply,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("replies:write")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    return await commands.command(
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


@router.post("/appeals/{appeal_id}/reviews", status_code=201)
async def post_review(
    appeal_id: UUID,
    decision: domain.ReviewDecision,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("workorders:dispatch")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    """The hotline centre approves the reply (a callback falls due) or sends it back."""
    if decision.decision == "sent_back" and decision.reason is None:
        raise commands.invalid("reason", "a reply is sent back with a reason")
    now = datetime.now(UTC)
    due = domain.callback_due(now, CALENDAR, commands.settings_of(runtime).callback_working_days)
    return await commands.command(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=decision.model_dump(mode="json"),
        decide=lambda state, _: domain.review(
            state,
            decision,
            appeal_id=appeal_id,
            callback_due=due,
            actor=caller.actor,
            event_id=uuid4(),
            now=now,
        ),
        extra=lambda _: (
            {"callback_due": due.isoformat()} if decision.decision == "approved" else {}
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
    return await commands.command(
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


@router.post("/appeals/{appeal_id}/callbacks", status_code=201)
async def post_callback(
    appeal_id: UUID,
    call: domain.Callback,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("ratings:write")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    """One callback attempt, always recorded: 201 with `counted` saying whether it set the
    round's rating (only the first that reaches the citizen does)."""
    if call.reached:
        for field in ("satisfaction", "solved"):
            if getattr(call, field) is None:
                raise commands.invalid(field, "required when the citizen was reached")
    elif call.satisfaction is not None or call.solved is not None:
        raise commands.invalid("reached", "a citizen not reached gives no satisfaction or solved")
    settings = commands.settings_of(runtime)

    def outcome(new: list[events.Event]) -> dict[str, Any]:
        made = new[0]
        assert isinstance(made, events.CallbackMade)
        due = made.next_attempt_due
        return {
            "attempt": made.attempt,
            "counted": made.counted,
            "next_attempt_due": due.isoformat() if due else None,
        }

    return await commands.command(
        runtime,
        caller,
        appeal_id=appeal_id,
        key=idempotency_key,
        body=call.model_dump(mode="json"),
        decide=lambda state, _: domain.call_back(
            state,
            call,
            appeal_id=appeal_id,
            max_attempts=settings.callback_max_attempts,
            retry_after=timedelta(hours=settings.callback_retry_hours),
            actor=caller.actor,
            new_id=uuid4,
            now=datetime.now(UTC),
        ),
        extra=outcome,
    )


@router.get("/callbacks")
async def callbacks_due(
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("feedback:read")],
    due_by: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Approved replies awaiting a callback, the most overdue first (a department's token
    sees its own)."""
    async with runtime.db.transaction() as tx:
        rows = await store.list_callbacks_due(
            tx, due_by=due_by, department=caller.department, limit=limit
        )
    now = datetime.now(UTC)
    return {
        "items": [
            {
                "appeal_id": str(r["appeal_id"]),
                "round": r["round"],
                "department": r["department"],
                "due_at": r["due_at"].isoformat(),
                "overdue": r["due_at"] <= now,
                "attempts": r["attempts"],
            }
            for r in rows
        ]
    }


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
        "review": state.review,
        "approved_round": state.approved_round,
        "callback_due": state.callback_due.isoformat() if state.callback_due else None,
        "callbacks": state.callbacks,
        "rated_round": state.rated_round,
        "version": version,
    }
