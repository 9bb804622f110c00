"""Integrity: the findings audit recorded on ingest. (The signed checkpoints and proofs an
outsider can check are in routes/proofs.py.)"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from audit_service import store, views
from audit_service.domain.findings import Kind
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, Page, decode, page

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
