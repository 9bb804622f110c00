"""intake's catalogue routes: the appeal categories in force and publishing a new version.

Reading needs `appeals:read`; publishing needs `catalogue:admin`. Appeals keep the category
code they were filed with; a new version never rewrites them.
"""

from fastapi import APIRouter

from intake_service import store
from intake_service.catalogue import Catalogue
from intake_service.routes.deps import CatalogueAdmin, IntakeRuntime, Reader
from intake_service.views import CataloguePublished, CatalogueView
from shared.runtime import openapi
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.get("/catalogue", responses=openapi.problems(404))
async def current_catalogue(runtime: IntakeRuntime, _: Reader) -> CatalogueView:
    async with runtime.db.transaction() as tx:
        current = await store.current_catalogue(tx)
    if current is None:
        raise Problem(404, "Not Found", "no catalogue has been published; run `hotline seed`")
    version, catalogue, published_at = current
    return CatalogueView(version=version, published_at=published_at, services=catalogue.services)


@router.put("/catalogue")
async def publish_catalogue(
    body: Catalogue, runtime: IntakeRuntime, _: CatalogueAdmin
) -> CataloguePublished:
    """Publish a new catalogue version (unchanged content publishes nothing)."""
    async with runtime.db.transaction() as tx:
        version = await store.publish_catalogue(tx, body)
        current = await store.current_catalogue(tx)
    assert current is not None
    return CataloguePublished(version=current[0], published=version is not None)
