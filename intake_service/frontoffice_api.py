"""The front office's commands on a held appeal (scope `appeals:frontoffice`): classify,
forward to dispatch, answer from the knowledge base, transfer to an emergency line,
reject with the legal route, merge into an open appeal, and undo a merge. Each records one
fact, on the version the operator saw (If-Match: the appeal's ETag from GET; missing 428,
stale 412); an impossible transition is 409 with the reason."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from intake_service import domain, handlers, store
from intake_service import views as view
from intake_service.store import knowledge as kb
from shared import events
from shared.runtime import preconditions
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import ConcurrencyError, Tx
from shared.runtime.preconditions import IfMatch
from shared.runtime.problems import Problem, invalid_field

router = APIRouter(prefix="/appeals/{appeal_id}", tags=["front office"])
Operator = Annotated[Principal, require(view.FRONT_OFFICE)]
Decision = Callable[[domain.Appeal | None, domain.Meta], list[events.Event]]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Classification(_Body):
    category: events.Code
    appeal_type: events.AppealType | None = None  # unchanged when absent
    urgency: events.Urgency | None = None  # unchanged when absent
    reason: events.Text


class Answer(_Body):
    """From an article (its version in force unless one is named; its body is the answer
    unless one is written), or a three-party call's note as `answer` alone."""

    article_id: str | None = Field(default=None, min_length=1, max_length=64)
    article_version: int | None = Field(default=None, ge=1)
    answer: events.Text | None = None


class Transfer(_Body):
    line: events.EmergencyLine
    mode: Literal["one_click", "three_party_call"] = "one_click"
    external_reference: str = Field(min_length=1, max_length=100)


class Rejection(_Body):
    reason: events.Text
    legal_route: events.LegalRoute
    explanation: events.Text


class Merge(_Body):
    parent: UUID
    reason: events.Text


class Unmerge(_Body):
    reason: events.Text


async def _decide(
    tx: Tx, appeal_id: UUID, caller: Principal, if_match: str | None, decision: Decision
) -> JSONResponse:
    """Decide on the appeal as the caller saw it (If-Match names that version) and record
    the decision; answers the appeal as it now stands, with its new ETag."""
    # The row lock orders this decision with a merge into or out of the same appeal.
    await store.lock_progress(tx, appeal_id)
    appeal, version = await tx.load_state(appeal_id, domain.evolve, None)
    if appeal is None:
        raise Problem(404, "Not Found", f"no appeal {appeal_id}")
    expected = preconditions.expected_version(if_match, "appeal")
    if version != expected:
        raise preconditions.stale("appeal", version, expected)
    new = decision(appeal, domain.Meta(actor=caller.actor, now=datetime.now(UTC), new_id=uuid4))
    try:
        version = await handlers.record(tx, appeal_id, new, expected_version=version)
    except ConcurrencyError as exc:  # another operator's decision landed first
        raise Problem(
            412, "Precondition Failed", "the appeal changed while this command was decided"
        ) from exc
    row = await store.get(tx, appeal_id)
    assert row is not None
    return JSONResponse(view.appeal(row, caller), headers={"ETag": preconditions.etag(version)})


@router.post("/classification")
async def classify(
    appeal_id: UUID,
    body: Classification,
    runtime: RuntimeDep,
    caller: Operator,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Override the category, type or urgency while the appeal is held; once forwarded,
    dispatch routed on it and a reassignment there is the remedy (409 here)."""
    async with runtime.db.transaction() as tx:
        current = await store.current_catalogue(tx)
        if current is not None and current[1].find(body.category) is None:
            raise invalid_field("body.category", f"not in appeal catalogue version {current[0]}")

        def decision(appeal: domain.Appeal | None, meta: domain.Meta) -> list[events.Event]:
            held = domain.held(appeal)
            return domain.classify(
                held,
                category=body.category,
                appeal_type=body.appeal_type or held.appeal_type,
                urgency=body.urgency or held.urgency,
                reason=body.reason,
                catalogue_version=None if current is None else current[0],
                meta=meta,
            )

        return await _decide(tx, appeal_id, caller, if_match, decision)


@router.post("/forwarding")
async def forward(
    appeal_id: UUID, runtime: RuntimeDep, caller: Operator, if_match: IfMatch = None
) -> JSONResponse:
    async with runtime.db.transaction() as tx:
        return await _decide(tx, appeal_id, caller, if_match, domain.forward)


@router.post("/answer")
async def answer(
    appeal_id: UUID, body: Answer, runtime: RuntimeDep, caller: Operator, if_match: IfMatch = None
) -> JSONResponse:
    """Closes the appeal without dispatch; the article's id and version are recorded."""
    async with runtime.db.transaction() as tx:
        cited: tuple[str, int] | None = None
        text = body.answer
        if body.article_id is not None:
            article = await kb.article(tx, body.article_id, body.article_version)
            if article is None:
                field = (
                    "body.article_id" if body.article_version is None else "body.article_version"
                )
                raise invalid_field(field, "no such knowledge-base article (version)")
            if body.article_version is None and not article["active"]:
                raise invalid_field("body.article_id", "the article is retired")
            cited, text = (article["id"], article["version"]), text or article["body"]
        elif body.article_version is not None:
            raise invalid_field("body.article_id", "an article version needs the article's id")
        if text is None:
            raise invalid_field("body.answer", "without an article, the answer must be written")
        answer_text = text

        def decision(appeal: domain.Appeal | None, meta: domain.Meta) -> list[events.Event]:
            return domain.answer(appeal, article=cited, text=answer_text, meta=meta)

        return await _decide(tx, appeal_id, caller, if_match, decision)


@router.post("/transfer")
async def transfer(
    appeal_id: UUID, body: Transfer, runtime: RuntimeDep, caller: Operator, if_match: IfMatch = None
) -> JSONResponse:
    """Handed to 110, 119, 120 or 122 with the other platform's reference; closed here."""
    async with runtime.db.transaction() as tx:
        return await _decide(
            tx,
            appeal_id,
            caller,
            if_match,
            lambda appeal, meta: domain.transfer(
                appeal,
                line=body.line,
                mode=body.mode,
                external_reference=body.external_reference,
                meta=meta,
            ),
        )


@router.post("/rejection")
async def reject(
    appeal_id: UUID,
    body: Rejection,
    runtime: RuntimeDep,
    caller: Operator,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Out of scope: closed, with the legal route the citizen was told."""
    async with runtime.db.transaction() as tx:
        return await _decide(
            tx,
            appeal_id,
            caller,
            if_match,
            lambda appeal, meta: domain.reject(
                appeal,
                reason=body.reason,
                legal_route=body.legal_route,
                explanation=body.explanation,
                meta=meta,
            ),
        )


@router.post("/merge")
async def merge(
    appeal_id: UUID, body: Merge, runtime: RuntimeDep, caller: Operator, if_match: IfMatch = None
) -> JSONResponse:
    """A held repeat appeal joins an open one; it keeps its own identity and callback."""
    async with runtime.db.transaction() as tx:
        # Both rows locked, in one order for all: "A into B" racing "B into C" (or B being
        # answered) would otherwise each pass on what the other has not committed yet.
        for locked in sorted({appeal_id, body.parent}):
            await store.lock_progress(tx, locked)
        parent, _ = await tx.load_state(body.parent, domain.evolve, None)
        shown = await store.get(tx, body.parent)
        if shown is not None and shown["status"] == "closed":  # e.g. its work order closed
            raise Problem(409, "Conflict", f"appeal {body.parent} is closed: nothing to join")
        has_children = bool(await store.children(tx, appeal_id))
        return await _decide(
            tx,
            appeal_id,
            caller,
            if_match,
            lambda appeal, meta: domain.merge(
                appeal, parent, child_has_children=has_children, reason=body.reason, meta=meta
            ),
        )


@router.post("/unmerge")
async def unmerge(
    appeal_id: UUID, body: Unmerge, runtime: RuntimeDep, caller: Operator, if_match: IfMatch = None
) -> JSONResponse:
    """Undo a wrong merge: the appeal is held at the front office again."""
    async with runtime.db.transaction() as tx:
        return await _decide(
            tx,
            appeal_id,
            caller,
            if_match,
            lambda appeal, meta: domain.unmerge(appeal, reason=body.reason, meta=meta),
        )
