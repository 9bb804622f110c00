"""The access log: who read or exported personal data (principal, what, when)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from audit_service import views, views_admin
from audit_service.routes.deps import AuditRuntime
from audit_service.store import access
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, Page, decode, page

router = APIRouter(prefix="/v1", tags=["audit"])
_PAGED: dict[int | str, dict[str, Any]] = {200: {"description": "One page", "headers": LINK_HEADER}}


@router.get("/access-log", responses={**_PAGED, **problems(400)})
async def list_access(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    appeal_id: UUID | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[views_admin.AccessRecord]:
    """Every read or export that showed personal data unmasked (a token with
    audit:personal-data), oldest first; the record names who, what and when, never what
    was shown."""
    (after,) = decode(cursor, int) if cursor else (0,)
    async with runtime.engine.connect() as conn:
        rows = await access.list_access(conn, appeal_id=appeal_id, after=after, limit=limit)
    found = [views_admin.AccessRecord.model_validate(r) for r in rows]
    return page(found, limit=limit, key=lambda r: (r.id,), request=request, response=response)
