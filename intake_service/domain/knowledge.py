"""The knowledge base's articles and how text is matched against them. Pure.

Chinese is written without spaces, so text is indexed as overlapping character pairs
(bigrams) of each run of Han characters, plus lower-cased Latin words and numbers: the
query 水费怎么交 shares 水费 with the title 水费缴纳方式 without any word segmenter.
"""

import re
from collections.abc import Sequence
from typing import Final, Protocol

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
# Question words carry no subject: they would match every FAQ-style article.
STOP_TERMS: Final = frozenset(
    {"怎么", "么办", "如何", "什么", "请问", "哪里", "哪儿", "可以", "我想", "为什么", "是否"}
    | {"一下", "多少", "想问", "问一", "问下", "需要", "的吗", "了吗", "怎样", "能不"}
)


class Article(Protocol):
    """What the index reads of an article (intake_service.articles.ArticleContent)."""

    @property
    def title(self) -> str: ...

    @property
    def body(self) -> str: ...

    @property
    def keywords(self) -> Sequence[str]: ...


def terms(text: str) -> set[str]:
    """The index terms of a text: Han bigrams (a lone Han character stands for itself)
    and Latin words or numbers of two characters or more."""
    found: set[str] = set()
    for run in _HAN_RUN.findall(text):
        if len(run) == 1:
            found.add(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    found.update(w for w in _WORD.findall(text.casefold()) if len(w) > 1)
    return found


def query_terms(text: str) -> set[str]:
    """A query's terms without question words, unless those are all it has."""
    every = terms(text)
    return (every - STOP_TERMS) or every


def title_terms(content: Article) -> set[str]:
    return terms(" ".join((content.title, *content.keywords)))


def all_terms(content: Article) -> set[str]:
    return title_terms(content) | terms(content.body)
