"""Every feedback command, through the one write path (`shared.runtime.commands.execute`):
the operators' and departments' routes, the citizen's rating link, the rating-window timer
and the citizen notices. `FEEDBACK` folds an appeal's feedback stream and projects each new
fact into the read models and the notification outbox, in the transaction that records it.

Feedback takes no If-Match: a stream that moved between load and append (say by a citizen
notice the consume loop recorded) is no conflict of the caller's, so a command is decided
again on the new state, a few times (`retrying`).
"""

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel

from feedback_service import domain, following, notify, settings
from feedback_service.settings import FeedbackSettings
from feedback_service.store import read_models
from shared import events
from shared.decisions import Context
from shared.runtime import idempotency
from shared.runtime.auth import Principal
from shared.runtime.commands import (
    Aggregate,
    Outcome,
    StaleStreamError,
    execute,
    state_of,
)
from shared.runtime.eventstore import Tx
from shared.runtime.running import Runtime

ACTOR = "service:feedback"
CONFLICT_ATTEMPTS = 3
T = TypeVar("T")
# A decision on the appeal's feedback state, given the work order's holder (dispatch's view).
Decision = Callable[[domain.Feedback, domain.Holder | None, Context], Sequence[events.Event]]


async def project(
    tx: Tx, _state: domain.Feedback, new: Sequence[events.Event], _version: int
) -> None:
    """The rating window and callback queue follow the facts; subscribers hear of each.
    Nothing here reads what the append makes, so it runs first and the read models' writes
    ride in the append's statement."""
    window = timedelta(hours=settings.current().rating_window_hours)
    await read_models.project(tx, new, rating_window=window)
    for fact in new:
        await notify.status_changed(tx, fact)


FEEDBACK: Aggregate[domain.Feedback, Tx] = Aggregate(
    "appeal's feedback", domain.Feedback(), domain.evolve, project, project_first=True
)


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run a whole transaction again when its stream moved under it, a few times."""
    for n in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return await attempt()
        except StaleStreamError:
            if n == CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def record(
    tx: Tx,
    appeal_id: UUID,
    decide: Decision,
    *,
    context: Context,
    config: FeedbackSettings,
) -> Outcome[domain.Feedback]:
    """One decision on the appeal's feedback stream, then the citizen's notice of an
    approval as a decision of its own. A merged child is called back and rated on its own
    stream, on its parent's reply; the reply and its review belong to the parent."""
    appeal = await read_models.appeal(tx, appeal_id)
    seen = await following.seen(tx, appeal_id, appeal.parent)
    holder = appeal.holder if appeal.parent is None else await read_models.holder(tx, appeal.parent)
    outcome = await execute(
        tx,
        FEEDBACK,
        appeal_id,
        lambda own, ctx: seen.own_facts(decide(seen.view(own), holder, ctx)),
        context=context,
        loaded=state_of(FEEDBACK, appeal.stream),
    )
    for fact in outcome.new:
        await tell_citizen(tx, config, fact)
    return outcome


async def tell_citizen(tx: Tx, config: FeedbackSettings, fact: events.Event) -> bool:
    """Queue the citizen's notice of an approved extension or reply; False when there is
    none to send. The notice is recorded as a fact when its delivery settles (`notice_settled`):
    delivered, or failed for good."""
    notice = await notify.citizen_notice(tx, config, fact)
    if notice is None:
        return False
    await notify.enqueue_notice(tx, notice, delivery_id=uuid4(), now=datetime.now(UTC))
    return True


async def notice_settled(
    tx: Tx, delivery: dict[str, Any], *, error: str | None, attempts: int, now: datetime
) -> None:
    """A citizen notice's delivery settled: `appeal.citizen_notified` when the channel took
    it, `appeal.citizen_notice_failed` when the attempts are spent, on the appeal's stream."""
    appeal_id = delivery["appeal_id"]
    history = await tx.load(appeal_id)
    correlation = history[0].event.correlation_id if history else appeal_id
    body = json.loads(delivery["body"])
    await execute(
        tx,
        FEEDBACK,
        appeal_id,
        lambda _, ctx: domain.delivery_settled(
            appeal_id,
            cause_id=delivery["event_id"],
            correlation_id=correlation,
            notice=body,
            delivery_id=delivery["id"],
            error=error,
            attempts=attempts,
            context=ctx,
        ),
        context=Context(ACTOR, now, causation_id=delivery["event_id"]),
    )


async def settle_rating_window(
    tx: Tx, appeal_id: UUID, *, round_: int, closed_at: datetime, now: datetime
) -> int:
    """The rating window of `round_` closed: "not rated" unless the round was settled or
    superseded meanwhile, and the window is closed; unless a callback attempt is still due,
    which keeps the window open until then. A merged child's window is its own, on its
    parent's round (its own callbacks, its own "not rated"). The facts recorded."""
    appeal = await read_models.appeal(tx, appeal_id)
    seen = await following.seen(tx, appeal_id, appeal.parent)

    def expire(own: domain.Feedback, ctx: Context) -> list[events.Event]:
        return seen.own_facts(
            domain.expire_rating(
                seen.view(own),
                round_=round_,
                window_closed_at=closed_at,
                appeal_id=appeal_id,
                context=ctx,
            )
        )

    outcome = await execute(
        tx,
        FEEDBACK,
        appeal_id,
        expire,
        context=Context(ACTOR, now),
        loaded=state_of(FEEDBACK, appeal.stream),
    )
    state = seen.view(outcome.state)
    if not outcome.new and state.handled_round == round_ and domain.window_still_open(state, now):
        assert state.callback_due is not None
        await read_models.open_rating_window(
            tx, appeal_id, round_=round_, closes_at=state.callback_due
        )
    else:
        await read_models.close_rating_window(tx, appeal_id)
    return len(outcome.new)


async def command(
    runtime: Runtime[FeedbackSettings],
    caller: Principal,
    *,
    appeal_id: UUID,
    key: str | None,
    body: BaseModel,
    decide: Decision,
    answer: Callable[[UUID, Outcome[domain.Feedback]], BaseModel],
    now: datetime | None = None,
) -> dict[str, Any]:
    """One command on the appeal's feedback stream for a route, once per Idempotency-Key,
    decided again if the stream moved meanwhile; the JSON body of the answer."""
    context = Context(caller.actor, now or datetime.now(UTC))

    async def action(tx: Tx) -> idempotency.StoredResponse:
        outcome = await record(tx, appeal_id, decide, context=context, config=runtime.settings)
        return idempotency.StoredResponse(201, answer(appeal_id, outcome).model_dump(mode="json"))

    async def once() -> dict[str, Any]:
        stored = await idempotency.run_once(
            runtime.db,
            scope=f"feedback:{caller.subject}",
            key=key,
            request_body=lambda: {"appeal_id": str(appeal_id), **body.model_dump(mode="json")},
            action=action,
        )
        return stored.body

    return await retrying(once)
