"""The knowledge base on real PostgreSQL: `hotline seed intake` publishes the demo articles
with the catalogue, and a spoken question finds the article that answers it."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service import knowledge_seed
from intake_service.domain import knowledge
from intake_service.main import MIGRATIONS
from intake_service.store import knowledge as kb
from services import cli
from shared.runtime.database import Database
from tests.support import infra


@pytest.fixture
async def seeded(servers: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    url = await infra.fresh_database("t_kb", MIGRATIONS)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    await cli._seed(["intake"])
    await cli._seed(["intake"])  # a second seed publishes nothing new
    engine = create_async_engine(url)
    yield Database(engine)
    await engine.dispose()


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("水费怎么交", "water.bill-payment"),
        ("我的养老金怎么还没到账", "social-security.pension-query"),
        ("请问怎么迁户口", "public-security.hukou-transfer"),
        ("房东不退押金怎么办", "housing.rental-deposit"),
        ("在外地住院医保能报销吗", "social-security.medical-reimbursement"),
    ],
)
async def test_a_spoken_question_finds_its_article(
    seeded: Database, question: str, article: str
) -> None:
    async with seeded.transaction() as tx:
        found = await kb.search(tx, knowledge.query_terms(question), category=None, limit=3)
    assert found[0]["id"] == article
    assert found[0]["version"] == 1


async def test_versions_are_kept_and_search_sees_the_one_in_force(seeded: Database) -> None:
    content = knowledge_seed.DEMO["water.bill-payment"]
    async with seeded.transaction() as tx:
        renamed = content.model_copy(update={"title": "自来水费用支付渠道"})
        version, published = await kb.publish_article(
            tx, "water.bill-payment", renamed, actor="operator:li", now=datetime.now(UTC)
        )
        assert (version, published) == (2, True)
        by_new = await kb.search(tx, knowledge.query_terms("支付渠道"), category=None, limit=3)
        first = await kb.article(tx, "water.bill-payment", 1)
        in_water = await kb.search(
            tx, knowledge.query_terms("水费"), category="power.outage", limit=3
        )
    assert [a["id"] for a in by_new] == ["water.bill-payment"]
    assert first is not None
    assert first["title"] == "水费缴纳方式"
    assert in_water == []  # the category filter keeps to articles of that category


async def test_concurrent_first_publications_of_one_article_make_two_versions(
    seeded: Database,
) -> None:
    base = knowledge_seed.DEMO["water.bill-payment"]

    async def publish(title: str) -> tuple[int, bool]:
        async with seeded.transaction() as tx:
            content = base.model_copy(update={"title": title})
            return await kb.publish_article(
                tx, "new.article", content, actor="operator:li", now=datetime.now(UTC)
            )

    results = await asyncio.gather(publish("版本甲"), publish("版本乙"))
    assert sorted(version for version, _ in results) == [1, 2]
    async with seeded.transaction() as tx:
        latest = await kb.article(tx, "new.article")
    assert latest is not None
    assert latest["version"] == 2
