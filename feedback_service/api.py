"""feedback's REST routes: the department's reply, the hotline centre's review, callbacks and
ratings, and the operators' queue of callbacks due."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from feedback_service import domain, notify, rating_links, store
from feedback_service.settings import FeedbackSettings
from shared import events
from shared.runtime import idempotency
from shared.runtime.app import Runtime, RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.workdays import WorkdayCalendar

router = APIRouter(prefix="/v1", tags=["feedback"])
Decision = Callable[[domain.Feedback, domain.Holder | None], list[events.Event]]
CALENDAR = WorkdayCalendar()


def settings_of(runtime: Runtime) -> FeedbackSettings:
    assert isinstance(runtime.settings, FeedbackSettings)
    return runtime.settings


async def record(
    runtime: Runtime, tx: Tx, appeal_id: UUID, decide: Decision
) -> tuple[list[events.Event], int]:
    """Decide on the appeal's feedback stream, append, and bring the read models along, all
    in the caller's transaction."""
    holder = await store.holder(tx, appeal_id)
    new, version = await tx.decide(
        appeal_id, domain.evolve, domain.Feedback(), lambda state: decide(state, holder)
    )
    settings = settings_of(runtime)
    window = timedelta(hours=settings.rating_window_hours)

    async def link(tx: Tx, appeal_id: UUID, now: datetime) -> str:
        return str((await rating_links.issue(settings, tx, appeal_id, now=now))["url"])

    for fact in new:
        await store.project(tx, fact, rating_window=window)
        await notify.status_changed(tx, fact)
        await notify.tell_citizen(tx, settings, fact, issue_link=link)
    return new, version


def answer(appeal_id: UUID, new: list[events.Event], version: int) -> dict[str, Any]:
    return {
        "appeal_id": str(appeal_id),
        "event_id": str(new[0].id),
        "type": new[0].type,
        "version": version,
        "time": new[0].time.isoformat(),
        "facts": [{"event_id": str(e.id), "type": e.type} for e in new],
    }


async def _command(
    runtime: Runtime,
    caller: Principal,
    *,
    appeal_id: UUID,
    key: str | None,
    body: dict[str, Any],
    decide: Decision,
    extra: Callable[[list[events.Event]], dict[str, Any]] = lambda _: {},
) -> JSONResponse:
    """One command on the appeal's feedback stream, once per Idempotency-Key."""

    async def action(tx: Tx) -> idempotency.StoredResponse:
        new, version = await record(runtime, tx, appeal_id, decide)
        return idempotency.StoredResponse(201, answer(appeal_id, new, version) | extra(new))

    stored = await idempotency.run_once(
        runtime.db,
        scope=f"feedback:{caller.subject}",
        key=key,
        request_body={"appeal_id": str(appeal_id), **body},
        action=action,
    )
    return JSONResponse(stored.body, status_code=stored.status_code)


def invalid(field: str, message: str) -> RequestValidationError:
    """A 422 naming the body field, for rules that tie fields together."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


@router.post("/appeals/{appeal_id}/replies", status_code=201)
async def post_reply(
    appeal_id: UUID,
    reply: domain.Reply,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("replies:write")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    return await _command(
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
        raise invalid("reason", "a reply is sent back with a reason")
    now = datetime.now(UTC)
    due = domain.callback_due(now, CALENDAR, settings_of(runtime).callback_working_days)
    return await _command(
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
    return await _command(
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
                raise invalid(field, "required when the citizen was reached")
    elif call.satisfaction is not None or call.solved is not None:
        raise invalid("reached", "a citizen not reached gives no satisfaction or solved")
    settings = settings_of(runtime)

    def outcome(new: list[events.Event]) -> dict[str, Any]:
        made = new[0]
        assert isinstance(made, events.CallbackMade)
        due = made.next_attempt_due
        return {
            "attempt": made.attempt,
            "counted": made.counted,
            "next_attempt_due": due.isoformat() if due else None,
        }

    return await _command(
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
