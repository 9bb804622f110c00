"""The knowledge base's SQL: immutable versions, the version in force, and search by the
overlap of index terms (a GIN index answers the `&&` filter; ranking counts shared terms,
title terms thrice)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert

from intake_service.articles import ArticleContent
from intake_service.domain import knowledge
from intake_service.store.tables import kb_article_versions, kb_articles
from shared.runtime.eventstore import Tx


async def publish_article(
    tx: Tx, article_id: str, content: ArticleContent, *, actor: str, now: datetime
) -> tuple[int, bool]:
    """Store `content` as the article's next version unless it says what the version in
    force says. Returns (version in force, whether a version was published)."""
    document = content.model_dump(mode="json")
    # Serialise publishers of one article, its first version included (a row lock cannot
    # lock a row that does not exist yet, and two first versions would collide).
    await tx.conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('kb:' || :id))"), {"id": article_id}
    )
    current = (
        await tx.conn.execute(
            select(kb_articles.c.version, kb_articles.c.document)
            .where(kb_articles.c.id == article_id)
            .with_for_update()
        )
    ).one_or_none()
    if current is not None and current.document == document:
        return current.version, False
    version = 1 if current is None else current.version + 1
    await tx.conn.execute(
        kb_article_versions.insert().values(
            article_id=article_id,
            version=version,
            document=document,
            published_by=actor,
            published_at=now,
        )
    )
    row = {
        "version": version,
        "document": document,
        "active": content.active,
        "title_terms": sorted(knowledge.title_terms(content)),
        "terms": sorted(knowledge.all_terms(content)),
        "updated_at": now,
    }
    await tx.conn.execute(
        insert(kb_articles)
        .values(id=article_id, **row)
        .on_conflict_do_update(index_elements=[kb_articles.c.id], set_=row)
    )
    return version, True


def _article(row: Any) -> dict[str, Any]:
    return {"id": row.article_id, "version": row.version, **row.document}


async def article(tx: Tx, article_id: str, version: int | None = None) -> dict[str, Any] | None:
    """An article's version (the one in force by default), with when and by whom."""
    query = select(
        kb_article_versions.c.article_id,
        kb_article_versions.c.version,
        kb_article_versions.c.document,
        kb_article_versions.c.published_by,
        kb_article_versions.c.published_at,
    ).where(kb_article_versions.c.article_id == article_id)
    if version is None:
        query = query.join(
            kb_articles,
            (kb_articles.c.id == kb_article_versions.c.article_id)
            & (kb_articles.c.version == kb_article_versions.c.version),
        )
    else:
        query = query.where(kb_article_versions.c.version == version)
    row = (await tx.conn.execute(query)).one_or_none()
    if row is None:
        return None
    return {
        **_article(row),
        "published_by": row.published_by,
        "published_at": row.published_at.isoformat(),
    }


async def versions(tx: Tx, article_id: str) -> list[dict[str, Any]]:
    rows = await tx.conn.execute(
        select(
            kb_article_versions.c.version,
            kb_article_versions.c.published_by,
            kb_article_versions.c.published_at,
        )
        .where(kb_article_versions.c.article_id == article_id)
        .order_by(kb_article_versions.c.version)
    )
    return [
        {"version": r.version, "published_by": r.published_by, "published_at": r.published_at}
        for r in rows
    ]


_SEARCH = text(
    """
    SELECT article_id, version, document, score FROM (
        SELECT id AS article_id, version, document,
               3 * (SELECT count(*) FROM unnest(title_terms) AS t WHERE t = ANY(:q))
                 + (SELECT count(*) FROM unnest(terms) AS t WHERE t = ANY(:q)) AS score
        FROM kb_articles
        WHERE active AND terms && :q
          AND (CAST(:category AS text) IS NULL OR document -> 'categories' ? :category)
    ) AS found
    WHERE CAST(:after_score AS integer) IS NULL
       OR score < :after_score OR (score = :after_score AND article_id > :after_id)
    ORDER BY score DESC, article_id
    LIMIT :limit
    """
).bindparams(
    bindparam("q", type_=ARRAY(Text)),
    bindparam("category", type_=String),
    bindparam("after_score", type_=Integer),
    bindparam("after_id", type_=String),
    bindparam("limit", type_=Integer),
)


async def search(
    tx: Tx,
    query_terms: set[str],
    *,
    category: str | None,
    after: tuple[int, str] | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Active articles sharing a term with the query, best first; `after` is the (score, id)
    of the last article of the previous page."""
    if not query_terms:
        return []
    after_score, after_id = after if after is not None else (None, None)
    rows = await tx.conn.execute(
        _SEARCH,
        {
            "q": sorted(query_terms),
            "category": category,
            "after_score": after_score,
            "after_id": after_id,
            "limit": limit,
        },
    )
    return [{**_article(r), "score": r.score} for r in rows]
