"""How every feedback command is recorded: decide on the appeal's feedback stream, append,
and bring the read models and the notification outbox along, in one transaction, once per
Idempotency-Key."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from feedback_service import domain, notify, rating_links, store
from feedback_service.settings import FeedbackSettings
from shared import events
from shared.errors import InvalidTransitionError
from shared.runtime import idempotency
from shared.runtime.app import Runtime
from shared.runtime.auth import Principal
from shared.runtime.eventstore import ConcurrencyError, Tx

Decision = Callable[[domain.Feedback, domain.Holder | None], list[events.Event]]
CONFLICT_ATTEMPTS = 3


def settings_of(runtime: Runtime) -> FeedbackSettings:
    assert isinstance(runtime.settings, FeedbackSettings)
    return runtime.settings


async def record(
    runtime: Runtime, tx: Tx, appeal_id: UUID, decide: Decision
) -> tuple[list[events.Event], int]:
    """Decide on the appeal's feedback stream, append, and bring the read models along, all
    in the caller's transaction."""
    parent = await store.parent_of(tx, appeal_id)
    if parent is None:
        holder = await store.holder(tx, appeal_id)
        new, version = await tx.decide(
            appeal_id, domain.evolve, domain.Feedback(), lambda state: decide(state, holder)
        )
    else:
        new, version = await _decide_for_child(tx, appeal_id, parent, decide)
    settings = settings_of(runtime)
    window = timedelta(hours=settings.rating_window_hours)

    async def link(tx: Tx, appeal_id: UUID, now: datetime) -> str:
        return str((await rating_links.issue(settings, tx, appeal_id, now=now))["url"])

    for fact in new:
        await store.project(tx, fact, rating_window=window)
        await notify.status_changed(tx, fact)
        await notify.tell_citizen(tx, settings, fact, issue_link=link)
    return new, version


async def _decide_for_child(
    tx: Tx, child: UUID, parent: UUID, decide: Decision
) -> tuple[list[events.Event], int]:
    """A merged child is called back and rated on its own stream, on its parent's reply;
    the reply and its review belong to the parent."""
    followed, _ = await tx.load_state(parent, domain.evolve, domain.Feedback())
    own, version = await tx.load_state(child, domain.evolve, domain.Feedback())
    new = decide(domain.as_merged_child(followed, own), await store.holder(tx, parent))
    if any(isinstance(e, events.Handled | events.ReplyReviewed) for e in new):
        raise InvalidTransitionError(
            f"appeal {child} is merged into {parent}: the reply and its review are the parent's"
        )
    return new, await tx.append(child, new, expected_version=version)


def answer(appeal_id: UUID, new: list[events.Event], version: int) -> dict[str, Any]:
    return {
        "appeal_id": str(appeal_id),
        "event_id": str(new[0].id),
        "type": new[0].type,
        "version": version,
        "time": new[0].time.isoformat(),
        "facts": [{"event_id": str(e.id), "type": e.type} for e in new],
    }


async def command(
    runtime: Runtime,
    caller: Principal,
    *,
    appeal_id: UUID,
    key: str | None,
    body: dict[str, Any],
    decide: Decision,
    extra: Callable[[list[events.Event]], dict[str, Any]] = lambda _: {},
) -> JSONResponse:
    """One command on the appeal's feedback stream, once per Idempotency-Key.

    The caller names no stream version (feedback takes no If-Match), so a stream that moved
    between load and append, say by a citizen notice the consume loop recorded, is no
    conflict of the caller's: the decision is made again on the new state, a few times.
    """

    async def action(tx: Tx) -> idempotency.StoredResponse:
        new, version = await record(runtime, tx, appeal_id, decide)
        return idempotency.StoredResponse(201, answer(appeal_id, new, version) | extra(new))

    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            stored = await idempotency.run_once(
                runtime.db,
                scope=f"feedback:{caller.subject}",
                key=key,
                request_body={"appeal_id": str(appeal_id), **body},
                action=action,
            )
            return JSONResponse(stored.body, status_code=stored.status_code)
        except ConcurrencyError:
            if attempt == CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def invalid(field: str, message: str) -> RequestValidationError:
    """A 422 naming the body field, for rules that tie fields together."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])
