"""Classification rules on Chinese text, and the knowledge base's term matching."""

import pytest

from intake_service import articles, catalogue_seed, knowledge_seed
from intake_service.domain import knowledge, rules

DEMO = catalogue_seed.DEMO


@pytest.mark.parametrize(
    ("text", "category", "matched"),
    [
        ("我家小区停水两天了，一直没人管", "water.outage", ("停水",)),
        ("楼下烧烤油烟太大，熏得没法开窗", "environment.air", ("油烟", "烧烤")),
        ("东城区幸福路的井盖丢了", "traffic.road-damage", ("井盖",)),
        ("公司拖欠工资三个月", "social-security.wages", ("工资", "拖欠工资")),
        ("Bus 12 never came", "traffic.bus", ("bus",)),
    ],
)
def test_keywords_choose_the_category_when_the_caller_names_none(
    text: str, category: str, matched: tuple[str, ...]
) -> None:
    found = rules.classify(DEMO, text=text, category=None, urgency="normal")
    assert (found.category, found.category_source) == (category, "keywords")
    assert set(found.category_keywords) == set(matched)


def test_the_code_whose_keywords_cover_more_of_the_text_wins() -> None:
    # 异味 is a keyword of water.quality and environment.air; 水质 tips it to water.quality.
    found = rules.classify(DEMO, text="自来水水质有异味", category=None, urgency="normal")
    assert found.category == "water.quality"


def test_the_callers_category_stands() -> None:
    found = rules.classify(DEMO, text="停水了", category="housing.repair", urgency="normal")
    assert (found.category, found.category_source, found.category_keywords) == (
        "housing.repair",
        "caller",
        (),
    )


def test_without_a_category_or_a_match_filing_is_refused() -> None:
    with pytest.raises(rules.NoCategoryError):
        rules.classify(DEMO, text="你好，我想咨询一件事", category=None, urgency="normal")
    with pytest.raises(rules.NoCategoryError):
        rules.classify(None, text="停水了", category=None, urgency="normal")


@pytest.mark.parametrize(
    "text",
    ["闻到楼道里燃气泄漏的味道", "仓库起火了", "有人被困在电梯里", "老楼外墙坍塌", "电线漏电"],
)
def test_danger_to_life_or_property_makes_an_appeal_urgent(text: str) -> None:
    found = rules.classify(DEMO, text=text, category="housing.repair", urgency="normal")
    assert (found.urgency, found.urgency_source) == ("urgent", "danger_keywords")
    assert found.danger_keywords


def test_no_danger_leaves_the_callers_urgency() -> None:
    calm = rules.classify(DEMO, text="楼道灯坏了", category="housing.repair", urgency="normal")
    assert (calm.urgency, calm.urgency_source, calm.danger_keywords) == ("normal", "caller", ())
    urgent = rules.classify(DEMO, text="楼道灯坏了", category="housing.repair", urgency="urgent")
    assert (urgent.urgency, urgent.urgency_source) == ("urgent", "caller")


def test_han_text_is_indexed_as_bigrams_and_latin_as_words() -> None:
    assert knowledge.terms("水费缴纳方式") == {"水费", "费缴", "缴纳", "纳方", "方式"}
    assert knowledge.terms("电 App 95598") == {"电", "app", "95598"}


def test_a_spoken_question_shares_terms_with_the_articles_title() -> None:
    asked = knowledge.query_terms("水费怎么交")
    assert "怎么" not in asked  # a question word matches every FAQ
    title = knowledge.title_terms(knowledge_seed.DEMO["water.bill-payment"])
    assert asked & title == {"水费"}


def test_a_query_of_question_words_only_keeps_them() -> None:
    assert knowledge.query_terms("怎么") == {"怎么"}


def test_the_demo_articles_name_categories_of_the_demo_catalogue() -> None:
    codes = {s.code for s in DEMO.services}
    assert len(knowledge_seed.DEMO) >= 5
    for article in knowledge_seed.DEMO.values():
        assert set(article.categories) <= codes


@pytest.mark.parametrize(
    "change",
    [{"title": ""}, {"body": "长" * 4001}, {"keywords": ["词" * 51]}, {"keywords": ["x"] * 31}],
)
def test_an_article_is_bounded(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        articles.ArticleContent.model_validate({"title": "t", "body": "b", **change})
