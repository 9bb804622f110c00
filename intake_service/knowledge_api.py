"""The knowledge base: articles with immutable versions. `PUT` publishes a new version
(identical content publishes nothing) and needs `knowledge:admin`; reading and searching
need `appeals:read`. Search matches Chinese by character bigrams (see domain.knowledge)."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from intake_service import views as view
from intake_service.domain import knowledge
from intake_service.store import knowledge as kb
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.problems import Problem

router = APIRouter(prefix="/knowledge", tags=["knowledge base"])
ArticleId = Annotated[str, Path(pattern=knowledge.ARTICLE_ID_PATTERN)]
Reader = Annotated[Principal, require(view.READ)]


@router.put("/articles/{article_id}")
async def publish(
    article_id: ArticleId,
    body: knowledge.ArticleContent,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require(view.KNOWLEDGE_ADMIN)],
) -> JSONResponse:
    """201 for an article's first version, 200 otherwise; `published` says whether this
    request made a new version."""
    async with runtime.db.transaction() as tx:
        version, published = await kb.publish_article(
            tx, article_id, body, actor=caller.actor, now=datetime.now(UTC)
        )
    return JSONResponse(
        {"id": article_id, "version": version, "published": published},
        status_code=201 if published and version == 1 else 200,
        headers={"Location": f"/v1/knowledge/articles/{article_id}"},
    )


@router.get("/articles/{article_id}")
async def read(
    article_id: ArticleId,
    runtime: RuntimeDep,
    _: Reader,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """The version in force, or the one named (answers cite versions that changed since)."""
    async with runtime.db.transaction() as tx:
        article = await kb.article(tx, article_id, version)
    if article is None:
        raise Problem(
            404, "Not Found", f"no article {article_id}" + (f" v{version}" if version else "")
        )
    return article


@router.get("/articles/{article_id}/versions")
async def history(article_id: ArticleId, runtime: RuntimeDep, _: Reader) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        found = await kb.versions(tx, article_id)
    if not found:
        raise Problem(404, "Not Found", f"no article {article_id}")
    return {
        "id": article_id,
        "versions": [{**v, "published_at": v["published_at"].isoformat()} for v in found],
    }


@router.get("/search")
async def search(
    runtime: RuntimeDep,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Active articles sharing terms with `q`, best first (title matches weigh most)."""
    async with runtime.db.transaction() as tx:
        found = await kb.search(tx, knowledge.query_terms(q), category=category, limit=limit)
    return {"items": found}
