"""dispatch's REST routes."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter

from dispatch_service import store
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["work orders"])


@router.get("/work-orders/{appeal_id}")
async def get_work_order(
    appeal_id: UUID, runtime: RuntimeDep, caller: Annotated[Principal, require("workorders:read")]
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        row = await store.get_work_order(tx, appeal_id)
    # A department sees its own work orders only; another's is as good as absent.
    if row is None or (caller.department is not None and row["department"] != caller.department):
        raise Problem(404, "Not Found", f"no work order for appeal {appeal_id}")
    return {
        "appeal_id": str(row["appeal_id"]),
        "department": row["department"],
        "stage": row["stage"],
        "version": row["version"],
        "updated_at": row["updated_at"].isoformat(),
    }


@router.get("/departments")
async def list_departments(
    runtime: RuntimeDep, _: Annotated[Principal, require("workorders:read")]
) -> list[dict[str, Any]]:
    async with runtime.db.transaction() as tx:
        return await store.list_departments(tx)


@router.get("/routing")
async def current_routing(
    runtime: RuntimeDep, _: Annotated[Principal, require("workorders:read")]
) -> dict[str, Any]:
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
            }
            for r in table.rules
        ],
    }
