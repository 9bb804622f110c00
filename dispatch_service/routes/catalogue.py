"""dispatch's catalogue routes: departments, the routing table and the SLA policy.

Reading needs `workorders:read`; publishing a new version needs `catalogue:admin`. A new
version never changes what an older one decided: facts carry the version that decided them.
"""

from datetime import UTC, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from dispatch_service import store, views
from dispatch_service.domain import sla
from dispatch_service.routes.deps import Body, DispatchRuntime, Reader
from shared import events
from shared.runtime import openapi, pagination
from shared.runtime.auth import Principal, require
from shared.runtime.pagination import CursorQuery, LimitQuery, Page
from shared.runtime.problems import invalid_field, not_found

router = APIRouter(prefix="/v1", tags=["catalogue"])
Admin = Annotated[Principal, require("catalogue:admin", centre=True)]
_UNPUBLISHED = openapi.problems(404)  # nothing published yet: `hotline seed` or a PUT


class RuleBody(Body):
    rule_id: str = Field(min_length=1, max_length=64)
    category: events.Code | Literal["*"] = Field(
        description="`*` with a district: that district's catch-all (its government), for "
        "what no rule of the category places; the city-level fallback comes last"
    )
    district: events.Code | None = None
    department: events.Code
    assisting: tuple[events.Code, ...] = ()


class DepartmentBody(Body):
    id: events.Code
    name: str = Field(min_length=1, max_length=200)
    district: events.Code | None = None


class RoutingBody(Body):
    departments: list[DepartmentBody] = Field(min_length=1, max_length=1000)
    rules: list[RuleBody] = Field(max_length=10000)
    fallback_department: events.Code


class LimitBody(Body):
    amount: int = Field(ge=1, le=1000)
    unit: Literal["hours", "working_days"]


class ClocksBody(Body):
    appeal_type: str = Field(pattern=r"^(\*|consultation|help|complaint|report|suggestion|praise)$")
    urgency: str = Field(pattern=r"^(\*|normal|urgent)$")
    category: str = Field(
        default="*",
        max_length=64,
        pattern=r"^(\*|[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*(\.\*)?)$",
        description="a category code (`water.outage`), a family (`water.*`), or `*` for any; "
        "the most specific matching rule wins: urgency first, then category, then type",
    )
    sign_for: LimitBody
    handling: LimitBody
    dispatch: LimitBody = LimitBody(amount=24, unit="hours")


class PolicyBody(Body):
    effective_from: events.UtcDatetime | None = Field(
        default=None,
        description="appeals received from this moment on run under the version (default: "
        "now); never in the past, so no appeal already received changes its terms",
    )
    clocks: list[ClocksBody] = Field(min_length=1)
    warn_share: float = Field(gt=0, lt=1)
    timezone: str = "Asia/Shanghai"
    day_ends_at: str = Field(default="18:00", pattern=r"^\d{2}:\d{2}$")
    return_window: LimitBody
    max_extension_days: int = Field(ge=0, le=60, description="per request")
    max_extension_days_total: int = Field(
        default=15, ge=0, le=120, description="every extension of an appeal together"
    )
    max_redo_rounds: int = Field(
        default=2, ge=0, le=10, description="redos per appeal; past them the centre takes over"
    )
    assist_window: LimitBody = Field(
        default=LimitBody(amount=3, unit="working_days"),
        description="an assisting department's limit, capped at the lead's handling deadline",
    )


@router.get("/departments", responses={200: {"headers": pagination.LINK_HEADER}})
async def list_departments(
    runtime: DispatchRuntime,
    _: Reader,
    request: Request,
    response: Response,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[views.DepartmentView]:
    """The departments work orders are routed to, by id."""
    after = pagination.decode(cursor, str)[0] if cursor else None
    async with runtime.db.transaction() as tx:
        rows = await store.list_departments(tx, after=after, limit=limit + 1)
    found = [views.DepartmentView.model_validate(row) for row in rows]
    return pagination.page(
        found, limit=limit, key=lambda d: (d.id,), request=request, response=response
    )


@router.get("/routing", responses=_UNPUBLISHED)
async def current_routing(runtime: DispatchRuntime, _: Reader) -> views.RoutingView:
    async with runtime.db.transaction() as tx:
        try:
            table = await store.current_routing(tx)
        except LookupError as exc:
            raise not_found("routing table", "published yet") from exc
    return views.routing_table(table)


@router.put("/routing")
async def publish_routing(
    body: RoutingBody, runtime: DispatchRuntime, _: Admin
) -> views.PublishedView:
    """Publish a new routing version. Work orders keep the version that routed them."""
    known = {d.id for d in body.departments}
    unknown = sorted(
        {
            body.fallback_department,
            *(r.department for r in body.rules),
            *(a for r in body.rules for a in r.assisting),
        }
        - known
    )
    if unknown:
        raise invalid_field("body.departments", f"unknown departments: {', '.join(unknown)}")
    if any(r.category == "*" and r.district is None for r in body.rules):
        raise invalid_field("body.rules", "a `*` rule is a district's catch-all: name the district")
    async with runtime.db.transaction() as tx:
        version = await store.publish_routing(
            tx,
            departments_=[d.model_dump() for d in body.departments],
            rules=[{**r.model_dump(), "assisting": list(r.assisting)} for r in body.rules],
            fallback_department=body.fallback_department,
        )
        current = (await store.current_routing(tx)).version
    return views.PublishedView(version=current, published=version is not None)


@router.put("/sla-policy")
async def publish_policy(
    body: PolicyBody, runtime: DispatchRuntime, _: Admin
) -> views.PublishedView:
    """Publish a new SLA policy version, in force from `effective_from`. Deadlines already
    set keep the version that set them; an appeal keeps the version in force when it was
    received for its whole life."""
    now = datetime.now(UTC)
    effective_from = body.effective_from or now
    if effective_from < now:
        raise invalid_field(
            "body.effective_from", "a policy takes effect now or later, never in the past"
        )
    document = body.model_dump(mode="json", exclude={"effective_from"})
    for clocks in document["clocks"]:
        for clock in ("sign_for", "handling", "dispatch"):
            clocks[clock] = [clocks[clock]["amount"], clocks[clock]["unit"]]
    document["return_window"] = [body.return_window.amount, body.return_window.unit]
    document["assist_window"] = [body.assist_window.amount, body.assist_window.unit]
    keys = [(c.appeal_type, c.urgency, c.category) for c in body.clocks]
    if len(set(keys)) != len(keys):
        raise invalid_field("body.clocks", "two rules for the same type, urgency and category")
    try:
        policy = sla.from_document(0, document)
        ZoneInfo(policy.timezone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise invalid_field("body", f"invalid policy: {exc}") from exc
    async with runtime.db.transaction() as tx:
        version = await store.publish_policy(tx, policy, effective_from=effective_from)
        standing = version or (await store.policy_in_force(tx, effective_from)).version
    return views.PublishedView(version=standing, published=version is not None)


@router.get("/sla-policy", responses=_UNPUBLISHED)
async def policy_in_force(
    runtime: DispatchRuntime,
    _: Reader,
    at: Annotated[
        events.UtcDatetime | None,
        Query(description="the version in force then (default: now)"),
    ] = None,
) -> views.PolicyView:
    async with runtime.db.transaction() as tx:
        try:
            policy = await store.policy_in_force(tx, at or datetime.now(UTC))
        except LookupError as exc:
            raise not_found("SLA policy", "in force then") from exc
        calendar = await store.current_calendar(tx)
    return views.policy(policy, calendar=calendar.version)


@router.get("/sla-policy/versions", responses={200: {"headers": pagination.LINK_HEADER}})
async def list_policies(
    runtime: DispatchRuntime,
    _: Reader,
    request: Request,
    response: Response,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[views.PolicyView]:
    """Every published version, scheduled ones included, by version."""
    after = pagination.decode(cursor, int)[0] if cursor else 0
    async with runtime.db.transaction() as tx:
        policies = [p for p in await store.list_policies(tx) if p.version > after]
        calendar = await store.current_calendar(tx)
    found = [views.policy(p, calendar=calendar.version) for p in policies[: limit + 1]]
    return pagination.page(
        found, limit=limit, key=lambda p: (p.version,), request=request, response=response
    )
