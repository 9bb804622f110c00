"""The knowledge base: articles with immutable versions. `PUT` publishes a new version
(identical content publishes nothing) and needs `knowledge:admin`; reading and searching
need `appeals:read`. Search matches Chinese by character bigrams (see domain.knowledge)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from intake_service.articles import ARTICLE_ID_PATTERN, ArticleContent
from intake_service.domain import knowledge
from intake_service.routes.deps import IntakeRuntime, KnowledgeAdmin, Reader
from intake_service.store import knowledge as kb
from intake_service.views import ArticleHit, ArticlePublished, ArticleVersions, ArticleView
from shared.runtime import openapi, pagination
from shared.runtime.pagination import CursorQuery, Page
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge base"])
ArticleId = Annotated[str, Path(pattern=ARTICLE_ID_PATTERN)]


@router.put(
    "/articles/{article_id}",
    response_model=ArticlePublished,
    responses={
        201: {"model": ArticlePublished, "description": "the article's first version"},
        200: {"description": "a new version, or none if the content is unchanged"},
    },
)
async def publish(
    article_id: ArticleId, body: ArticleContent, runtime: IntakeRuntime, caller: KnowledgeAdmin
) -> JSONResponse:
    """201 for an article's first version, 200 otherwise; `published` says whether this
    request made a new version."""
    async with runtime.db.transaction() as tx:
        version, published = await kb.publish_article(
            tx, article_id, body, actor=caller.actor, now=datetime.now(UTC)
        )
    shown = ArticlePublished(id=article_id, version=version, published=published)
    return JSONResponse(
        shown.model_dump(mode="json"),
        status_code=201 if published and version == 1 else 200,
        headers={"Location": f"/v1/knowledge/articles/{article_id}"},
    )


@router.get("/articles/{article_id}", responses=openapi.problems(404))
async def read(
    article_id: ArticleId,
    runtime: IntakeRuntime,
    _: Reader,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ArticleView:
    """The version in force, or the one named (answers cite versions that changed since)."""
    async with runtime.db.transaction() as tx:
        article = await kb.article(tx, article_id, version)
    if article is None:
        raise not_found("article", article_id + (f" v{version}" if version else ""))
    return ArticleView.model_validate(article)


@router.get("/articles/{article_id}/versions", responses=openapi.problems(404))
async def history(article_id: ArticleId, runtime: IntakeRuntime, _: Reader) -> ArticleVersions:
    async with runtime.db.transaction() as tx:
        found = await kb.versions(tx, article_id)
    if not found:
        raise not_found("article", article_id)
    return ArticleVersions.model_validate({"id": article_id, "versions": found})


@router.get("/search", responses={200: {"headers": pagination.LINK_HEADER}})
async def search(
    runtime: IntakeRuntime,
    _: Reader,
    request: Request,
    response: Response,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    category: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    cursor: CursorQuery = None,
) -> Page[ArticleHit]:
    """Active articles sharing terms with `q`, best first (title matches weigh most)."""
    after = pagination.decode(cursor, int, str) if cursor else None
    async with runtime.db.transaction() as tx:
        found = await kb.search(
            tx, knowledge.query_terms(q), category=category, after=after, limit=limit
        )
    return pagination.page(
        [ArticleHit.model_validate(hit) for hit in found],
        limit=limit,
        key=lambda hit: (hit.score, hit.id),
        request=request,
        response=response,
    )
