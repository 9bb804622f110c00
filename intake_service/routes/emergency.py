"""The front office's emergency queue (scope `appeals:frontoffice`): every open appeal whose
words named a danger to life or property, whatever channel filed it (phone, web, a partner,
Open311), oldest first, so an operator can transfer it to 110/119/120/122 at once (a
forwarded one by withdrawing its work order)."""

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request, Response

from intake_service import personal, views
from intake_service.routes import access
from intake_service.routes.deps import IntakeRuntime, Operator
from intake_service.store.emergency import emergency_queue
from intake_service.views import AppealView
from shared.runtime import pagination
from shared.runtime.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1", tags=["front office"])


@router.get(
    "/emergency-queue",
    response_model_exclude_unset=True,
    responses={200: {"headers": pagination.LINK_HEADER}},
)
async def list_emergency_queue(
    runtime: IntakeRuntime,
    caller: Operator,
    request: Request,
    response: Response,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AppealView]:
    """Open appeals with danger to life or property, oldest first; `classification`
    shows the words that put each here."""
    after = pagination.decode(cursor, datetime, UUID) if cursor else None
    async with runtime.db.transaction() as tx:
        rows = await emergency_queue(tx, after=after, limit=limit)
        # the front office calls these citizens back: their sealed data opened in memory
        rows = await personal.revealed_rows(tx, personal.Keyring.of(runtime.settings), rows)
        await access.record_reads(tx, caller, "emergency queue", rows)
    return pagination.page(
        [views.appeal(r, caller) for r in rows],
        limit=limit,
        key=lambda shown: (shown.received_at, shown.id),
        request=request,
        response=response,
    )
