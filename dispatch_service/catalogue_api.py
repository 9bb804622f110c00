"""dispatch's catalogue routes: departments, the routing table and the SLA policy.

Reading needs `workorders:read`; publishing a new version needs `catalogue:admin`. A new
version never changes what an older one decided: facts carry the version that decided them.
"""

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from dispatch_service import handlers, sla, store
from shared import events
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.problems import Problem

router = APIRouter(tags=["catalogue"])  # included by api.router, under its /v1
Reader = Annotated[Principal, require("workorders:read")]
Admin = Annotated[Principal, require("catalogue:admin")]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@router.get("/departments")
async def list_departments(runtime: RuntimeDep, _: Reader) -> list[dict[str, Any]]:
    async with runtime.db.transaction() as tx:
        return await store.list_departments(tx)


@router.get("/routing")
async def current_routing(runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        table = await store.current_routing(tx)
    return {
        "version": table.version,
        "fallback_department": table.fallback_department,
        "rules": [
            {
                "rule_id": r.rule_id,
                "category": r.category,
                "district": r.district,
                "department": r.department,
                "assisting": list(r.assisting),
            }
            for r in table.rules
        ],
    }


class RuleBody(_Body):
    rule_id: str = Field(min_length=1, max_length=64)
    category: events.Code
    district: events.Code | None = None
    department: events.Code
    assisting: tuple[events.Code, ...] = ()


class DepartmentBody(_Body):
    id: events.Code
    name: str = Field(min_length=1, max_length=200)
    district: events.Code | None = None


class RoutingBody(_Body):
    departments: list[DepartmentBody] = Field(min_length=1, max_length=1000)
    rules: list[RuleBody] = Field(max_length=10000)
    fallback_department: events.Code


class LimitBody(_Body):
    amount: int = Field(ge=1, le=1000)
    unit: Literal["hours", "working_days"]


class ClocksBody(_Body):
    appeal_type: str = Field(pattern=r"^(\*|consultation|help|complaint|report|suggestion|praise)$")
    urgency: str = Field(pattern=r"^(\*|normal|urgent)$")
    sign_for: LimitBody
    handling: LimitBody
    dispatch: LimitBody = LimitBody(amount=24, unit="hours")


class PolicyBody(_Body):
    clocks: list[ClocksBody] = Field(min_length=1)
    warn_share: float = Field(gt=0, lt=1)
    timezone: str = "Asia/Shanghai"
    day_ends_at: str = Field(default="18:00", pattern=r"^\d{2}:\d{2}$")
    return_window: LimitBody
    max_extension_days: int = Field(ge=0, le=60)


@router.put("/routing")
async def publish_routing(body: RoutingBody, runtime: RuntimeDep, _: Admin) -> dict[str, Any]:
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
        raise Problem(422, "Invalid request", f"unknown departments: {', '.join(unknown)}")
    async with runtime.db.transaction() as tx:
        version = await store.publish_routing(
            tx,
            departments_=[d.model_dump() for d in body.departments],
            rules=[{**r.model_dump(), "assisting": list(r.assisting)} for r in body.rules],
            fallback_department=body.fallback_department,
        )
        current = (await store.current_routing(tx)).version
    return {"version": current, "published": version is not None}


@router.put("/sla-policy")
async def publish_policy(body: PolicyBody, runtime: RuntimeDep, _: Admin) -> dict[str, Any]:
    """Publish a new SLA policy version. Deadlines already set keep the version that set them."""
    document = body.model_dump(mode="json")
    for clocks in document["clocks"]:
        for clock in ("sign_for", "handling", "dispatch"):
            clocks[clock] = [clocks[clock]["amount"], clocks[clock]["unit"]]
    document["return_window"] = [body.return_window.amount, body.return_window.unit]
    try:
        policy = sla.from_document(0, document)
        ZoneInfo(policy.timezone)
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise Problem(422, "Invalid request", f"invalid policy: {exc}") from exc
    async with runtime.db.transaction() as tx:
        version = await store.publish_policy(tx, policy)
        current = (await store.current_policy(tx)).version
    return {"version": current, "published": version is not None}


@router.get("/sla-policy")
async def current_policy(runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        policy = await store.current_policy(tx)
    return {
        "version": policy.version,
        **sla.to_document(policy),
        "calendar": handlers.CALENDAR.version,
    }
