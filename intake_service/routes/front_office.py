"""The front office's commands on a held appeal (scope `appeals:frontoffice`): classify,
forward to dispatch, answer from the knowledge base, transfer to an emergency line,
reject with the legal route, merge into an open appeal, and undo a merge. Each records one
fact, on the version the operator saw (If-Match: the appeal's ETag from GET; missing 428,
stale 412); an impossible transition is 409 with the reason. Each answers the appeal as it
now stands, with its new ETag."""

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Response

from intake_service import commands, personal, store, views
from intake_service.routes import access
from intake_service.routes.deps import IntakeRuntime, Operator
from intake_service.routes.requests import (
    Answer,
    Classification,
    Merge,
    Rejection,
    Transfer,
    Unmerge,
)
from intake_service.views import AppealView
from shared.decisions import Context
from shared.runtime import openapi, preconditions
from shared.runtime.auth import Principal
from shared.runtime.commands import Outcome
from shared.runtime.eventstore import Tx
from shared.runtime.preconditions import IfMatch

router = APIRouter(
    prefix="/v1/appeals/{appeal_id}",
    tags=["front office"],
    responses={200: {"headers": views.ETAG}, **openapi.problems(404, 409, 412, 428)},
)


def _context(caller: Principal) -> Context:
    return Context(actor=caller.actor, now=datetime.now(UTC))


async def _shown(
    tx: Tx,
    outcome: Outcome[commands.State],
    caller: Principal,
    response: Response,
    runtime: IntakeRuntime,
) -> AppealView:
    assert outcome.state is not None
    row = await store.get(tx, outcome.state.appeal_id)
    assert row is not None
    response.headers["ETag"] = preconditions.etag(outcome.version)
    keyring = personal.Keyring.of(runtime.settings)
    [row] = await personal.revealed_rows(tx, keyring, [row])
    await access.record_reads(tx, caller, "front-office command", [row])
    return views.appeal(row, caller)


@router.post("/classification", response_model_exclude_unset=True)
async def classify(
    appeal_id: UUID,
    body: Classification,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    """Override the category, type or urgency while the appeal is held; once forwarded,
    dispatch routed on it and a reassignment there is the remedy (409 here)."""
    async with runtime.db.transaction() as tx:
        outcome = await commands.classify(
            tx,
            appeal_id,
            category=body.category,
            appeal_type=body.appeal_type,
            urgency=body.urgency,
            reason=body.reason,
            context=_context(caller),
            if_match=if_match,
        )
        return await _shown(tx, outcome, caller, response, runtime)


@router.post("/forwarding", response_model_exclude_unset=True)
async def forward(
    appeal_id: UUID,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    async with runtime.db.transaction() as tx:
        outcome = await commands.forward(tx, appeal_id, context=_context(caller), if_match=if_match)
        return await _shown(tx, outcome, caller, response, runtime)


@router.post("/answer", response_model_exclude_unset=True)
async def answer(
    appeal_id: UUID,
    body: Answer,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    """Closes the appeal without dispatch; the article's id and version are recorded."""
    async with runtime.db.transaction() as tx:
        outcome = await commands.answer(
            tx,
            appeal_id,
            article_id=body.article_id,
            article_version=body.article_version,
            text=body.answer,
            context=_context(caller),
            if_match=if_match,
        )
        return await _shown(tx, outcome, caller, response, runtime)


@router.post("/transfer", response_model_exclude_unset=True)
async def transfer(
    appeal_id: UUID,
    body: Transfer,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    """Handed to 110, 119, 120 or 122 with the other platform's reference; closed here."""
    async with runtime.db.transaction() as tx:
        outcome = await commands.transfer(
            tx,
            appeal_id,
            line=body.line,
            mode=body.mode,
            external_reference=body.external_reference,
            context=_context(caller),
            if_match=if_match,
        )
        return await _shown(tx, outcome, caller, response, runtime)


@router.post("/rejection", response_model_exclude_unset=True)
async def reject(
    appeal_id: UUID,
    body: Rejection,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    """Out of scope: closed, with the legal route the citizen was told."""
    async with runtime.db.transaction() as tx:
        outcome = await commands.reject(
            tx,
            appeal_id,
            reason=body.reason,
            legal_route=body.legal_route,
            explanation=body.explanation,
            context=_context(caller),
            if_match=if_match,
        )
        return await _shown(tx, outcome, caller, response, runtime)


@router.post("/merge", response_model_exclude_unset=True)
async def merge(
    appeal_id: UUID,
    body: Merge,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    """A held repeat appeal joins an open one; it keeps its own identity and callback."""
    async with runtime.db.transaction() as tx:
        outcome = await commands.merge(
            tx,
            appeal_id,
            parent=body.parent,
            reason=body.reason,
            context=_context(caller),
            if_match=if_match,
        )
        return await _shown(tx, outcome, caller, response, runtime)


@router.post("/unmerge", response_model_exclude_unset=True)
async def unmerge(
    appeal_id: UUID,
    body: Unmerge,
    runtime: IntakeRuntime,
    caller: Operator,
    response: Response,
    if_match: IfMatch = None,
) -> AppealView:
    """Undo a wrong merge: the appeal is held at the front office again."""
    async with runtime.db.transaction() as tx:
        outcome = await commands.unmerge(
            tx, appeal_id, reason=body.reason, context=_context(caller), if_match=if_match
        )
        return await _shown(tx, outcome, caller, response, runtime)
