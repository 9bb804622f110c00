"""Reading work orders, with `workorders:read`: one by its appeal, or a queue. A department's
token sees its own work orders only (leading or assisting); the commands are in `department`
and `centre`."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from dispatch_service import store, views
from dispatch_service.domain.state import Stage
from dispatch_service.routes.deps import DispatchRuntime, Reader
from dispatch_service.views import WorkOrderView
from shared.runtime import changes, openapi, pagination
from shared.runtime.auth import Principal
from shared.runtime.pagination import CursorQuery, LimitQuery, Page
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1/work-orders", tags=["work orders"])
_READ: dict[int | str, dict[str, Any]] = {
    200: {"description": "the work order", "headers": views.ETAG_HEADER},
    **openapi.problems(404),
}
_LIST: dict[int | str, dict[str, Any]] = {
    200: {"description": "a page of work orders", "headers": pagination.LINK_HEADER},
    **openapi.problems(400),
}


def _visible_or_none(row: dict[str, Any], caller: Principal) -> dict[str, Any] | None:
    # A department sees its own work orders only; another's is as good as absent.
    if caller.department is not None and caller.department not in (
        row["department"],
        *row["state"]["assisting"],
    ):
        return None
    return row


@router.get("", responses=_LIST)
async def list_work_orders(
    runtime: DispatchRuntime,
    caller: Reader,
    request: Request,
    response: Response,
    department: Annotated[str | None, Query(max_length=64)] = None,
    role: Annotated[
        Literal["lead", "assisting"] | None,
        Query(description="with a department: only what it leads, or only what it assists"),
    ] = None,
    stage: Stage | None = None,  # "escalated": the orders the centre must close or reassign
    district: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    include_closed: bool = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[WorkOrderView]:
    """A department's queue (its token forces its own department): the work orders it leads
    and those it assists (each assist with its own deadline and state in `assists`), or only
    one `role`; or the operator's view; oldest change first."""
    if caller.department is not None:
        department = caller.department
    after = pagination.decode(cursor, datetime, UUID) if cursor else None
    async with runtime.db.read() as tx:
        rows = await store.list_work_orders(
            tx,
            department=department,
            role=role,
            stage=stage,
            district=district,
            overdue=overdue,
            open_only=not include_closed and stage != "closed",
            after=(after[0], after[1]) if after else None,
            limit=limit + 1,
        )
    now = datetime.now(UTC)
    shown = pagination.page(
        rows,
        limit=limit,
        key=lambda r: (r["updated_at"], r["appeal_id"]),
        request=request,
        response=response,
    )
    return Page[WorkOrderView](
        items=[views.work_order(row, now) for row in shown.items], next=shown.next
    )


@router.get(
    "/{appeal_id}", responses={**_READ, **changes.WAIT_RESPONSES}, response_model=WorkOrderView
)
async def get_work_order(
    appeal_id: UUID,
    runtime: DispatchRuntime,
    caller: Reader,
    response: Response,
    prefer: changes.PreferHeader = None,
    if_none_match: changes.IfNoneMatchHeader = None,
) -> WorkOrderView | Response:
    """The work order of an appeal. To wait for it to appear or change instead of polling:
    `Prefer: wait=N`, with `If-None-Match` naming the ETag you hold (shared.runtime.changes)."""

    async def read() -> dict[str, Any] | None:
        async with runtime.db.read() as tx:
            row = await store.get_work_order(tx, appeal_id)
        return None if row is None else _visible_or_none(row, caller)

    row = await changes.conditional_read(
        runtime.changes,
        appeal_id,
        read,
        views.etag,
        prefer=prefer,
        if_none_match=if_none_match,
        response=response,
    )
    if row is None:  # still absent (or not the caller's) at the bound
        absent = not_found("work order for appeal", appeal_id)
        absent.headers = changes.kept_headers(response)
        raise absent
    if isinstance(row, Response):
        return row  # 304
    return views.work_order(row, datetime.now(UTC))
