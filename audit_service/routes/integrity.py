"""Integrity: the findings audit recorded on ingest, and the Merkle checkpoints an outsider
can keep and later check any fact's inclusion proof against."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from audit_service import checkpoints, store, views
from audit_service.domain.findings import Kind
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, Page, decode, page
from shared.runtime.problems import Problem, not_found

router = APIRouter(prefix="/v1", tags=["audit"])
_PAGED: dict[int | str, dict[str, Any]] = {200: {"description": "One page", "headers": LINK_HEADER}}


@router.get("/findings", responses={**_PAGED, **problems(400)})
async def list_findings(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    kind: Kind | None = None,
    appeal_id: UUID | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[views.Finding]:
    """Integrity findings in the order found: records parked as forged or undecodable, and
    facts that break their stream's chain (see domain/findings.py), each with the appeal
    and the topic, partition and offset it was read at."""
    (after,) = decode(cursor, int) if cursor else (0,)
    async with runtime.engine.connect() as conn:
        rows = await store.list_findings(
            conn, kind=kind, appeal_id=appeal_id, after=after, limit=limit
        )
    found = [views.Finding.of(r) for r in rows]
    return page(found, limit=limit, key=lambda f: (f.id,), request=request, response=response)


@router.post(
    "/checkpoints",
    status_code=201,
    responses={
        200: {"model": views.Checkpoint, "description": "Nothing new since: the latest one"},
        201: {"description": "A checkpoint of every fact settled so far"},
        **problems(409),
    },
)
async def create_checkpoint(
    response: Response, runtime: AuditRuntime, _: Annotated[Principal, require(views.REPLAY)]
) -> views.Checkpoint:
    """Checkpoint now (the timer also does, periodically); 200 with the latest when nothing
    new was recorded since, 409 when nothing was ever recorded."""
    made = await checkpoints.create(runtime.engine)
    if made is not None:
        return views.Checkpoint.model_validate(made)
    async with runtime.engine.connect() as conn:
        latest = await store.get_checkpoint(conn, None)
    if latest is None:
        raise Problem(409, "Conflict", "no facts recorded yet: nothing to checkpoint")
    response.status_code = 200
    return views.Checkpoint.model_validate(latest)


@router.get("/checkpoints", responses={**_PAGED, **problems(400)})
async def list_checkpoints(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[views.Checkpoint]:
    """Checkpoints, newest first."""
    (before,) = decode(cursor, int) if cursor else (None,)
    async with runtime.engine.connect() as conn:
        rows = await store.list_checkpoints(conn, before=before, limit=limit)
    made = [views.Checkpoint.model_validate(r) for r in rows]
    return page(made, limit=limit, key=lambda c: (c.size,), request=request, response=response)


@router.get("/facts/{event_id}/proof", responses=problems(404))
async def fact_proof(
    event_id: UUID,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    size: Annotated[
        int | None, Query(ge=1, description="the checkpoint's size; absent for the latest")
    ] = None,
) -> views.Proof:
    """The fact's inclusion proof against a checkpoint: verify it with the root you kept."""
    found = await checkpoints.proof(runtime.engine, event_id, size=size)
    if found is None:
        raise not_found(f"checkpoint {size or '(latest)'} covering fact", event_id)
    return views.Proof.model_validate(found)
