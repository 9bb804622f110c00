"""KPI rules as versioned data: publish a version, read them (domain/rules.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from audit_service import store, views, views_admin
from audit_service.domain import rules
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, decode, page
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1", tags=["audit"])
RuleName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
_PAGED: dict[int | str, dict[str, Any]] = {
    200: {"description": "One page", "headers": LINK_HEADER},
    **problems(400),
}


@router.put("/kpi-rules/{name}", responses=problems(400, 422))
async def publish_rule(
    name: RuleName,
    body: rules.RuleDocument,
    runtime: AuditRuntime,
    caller: Annotated[Principal, require(views.RULES, centre=True)],
) -> views_admin.PublishedRule:
    """Publish `body` as the rule's next version (version 1 for a new name). A document
    equal to the latest version publishes nothing and answers that version. Figures
    computed under older versions stay reproducible: versions are never changed."""
    async with runtime.engine.begin() as conn:
        row, published = await store.publish_rule(
            conn, name, body.model_dump(mode="json"), by=caller.actor
        )
    return views_admin.PublishedRule.model_validate({**row, "published": published})


@router.get("/kpi-rules", responses=_PAGED)
async def list_rules(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views_admin.KpiRules:
    """Every version of every KPI rule, by name, then version."""
    after = decode(cursor, str, int) if cursor else None
    async with runtime.engine.connect() as conn:
        rows = await store.list_rules(conn, after=after, limit=limit)
    shown = page(
        [views_admin.KpiRule.model_validate(row) for row in rows],
        limit=limit,
        key=lambda r: (r.name, r.version),
        request=request,
        response=response,
    )
    return views_admin.KpiRules(items=shown.items, next=shown.next)


@router.get("/kpi-rules/{name}", responses=problems(404))
async def get_rule(
    name: RuleName,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> views_admin.KpiRule:
    """A KPI rule's `version`, or its latest."""
    async with runtime.engine.connect() as conn:
        row = await store.get_rule(conn, name, version)
    if row is None:
        raise not_found("KPI rule", name if version is None else f"{name} version {version}")
    return views_admin.KpiRule.model_validate(row)
