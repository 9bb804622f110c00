"""intake's catalogue routes: the appeal categories in force and publishing a new version.

Reading needs `appeals:read`; publishing needs `catalogue:admin`. Appeals keep the category
code they were filed with; a new version never rewrites them.
"""

from typing import Annotated, Any

from fastapi import APIRouter

from intake_service import store
from intake_service.catalogue import Catalogue
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.problems import Problem

router = APIRouter(tags=["catalogue"])  # included by api.router, under its /v1


@router.get("/catalogue")
async def current_catalogue(
    runtime: RuntimeDep, _: Annotated[Principal, require("appeals:read")]
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        current = await store.current_catalogue(tx)
    if current is None:
        raise Problem(404, "Not Found", "no catalogue has been published; run `hotline seed`")
    version, catalogue, published_at = current
    return {
        "version": version,
        "published_at": published_at.isoformat(),
        **catalogue.model_dump(mode="json"),
    }


@router.put("/catalogue")
async def publish_catalogue(
    body: Catalogue, runtime: RuntimeDep, _: Annotated[Principal, require("catalogue:admin")]
) -> dict[str, Any]:
    """Publish a new catalogue version (unchanged content publishes nothing)."""
    async with runtime.db.transaction() as tx:
        version = await store.publish_catalogue(tx, body)
        current = await store.current_catalogue(tx)
    assert current is not None
    return {"version": current[0], "published": version is not None}
