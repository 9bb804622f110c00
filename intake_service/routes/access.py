"""The access log: who read an appeal with the citizen's data or its text shown (principal,
what, when), for auditors (scope audit:read, as audit's own /v1/access-log)."""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from intake_service.routes.deps import IntakeRuntime
from intake_service.store import access
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, Page, decode, page

AUDIT: Final = "audit:read"
router = APIRouter(prefix="/v1", tags=["personal data"])
_PAGED: dict[int | str, dict[str, Any]] = {200: {"description": "One page", "headers": LINK_HEADER}}


class AccessRecord(BaseModel):
    """One read of an appeal that showed its citizen's data or text: who, what, when."""

    id: int
    principal: str = Field(description="the token's subject (department:<id> for one)")
    action: str = Field(examples=["appeal view", "appeal list", "emergency queue"])
    appeal_id: UUID
    at: datetime


async def record_reads(
    tx: Tx, caller: Principal, action: str, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Log, in the reading transaction, each appeal shown to `caller` in clear."""
    await access.record(
        tx,
        principal=caller.actor,
        action=action,
        appeal_ids=[row["id"] for row in rows],
        now=datetime.now(UTC),
    )


@router.get("/access-log", responses={**_PAGED, **problems(400)})
async def list_access(
    request: Request,
    response: Response,
    runtime: IntakeRuntime,
    _: Annotated[Principal, require(AUDIT)],
    appeal_id: UUID | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[AccessRecord]:
    """Every read of an appeal at intake that showed its citizen's name, phone, ID number,
    address or text in clear (front office and departments), oldest first; never what was
    shown."""
    (after,) = decode(cursor, int) if cursor else (0,)
    async with runtime.db.transaction() as tx:
        rows = await access.list_access(tx, appeal_id=appeal_id, after=after, limit=limit)
    found = [AccessRecord.model_validate(r) for r in rows]
    return page(found, limit=limit, key=lambda r: (r.id,), request=request, response=response)
