"""A knowledge-base article as an administrator writes it: the body of
`PUT /v1/knowledge/articles/{id}` and the document each immutable version stores."""

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from shared import events

ARTICLE_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9._-]{0,63}$"  # a slug, e.g. water.bill-payment


class ArticleContent(BaseModel):
    """One version of an article as an administrator writes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    body: events.Text
    categories: tuple[events.Code, ...] = Field(default=(), max_length=20)
    keywords: tuple[Annotated[str, Field(min_length=1, max_length=50)], ...] = Field(
        default=(), max_length=30
    )
    active: bool = True  # a retired article is kept (answers cite it) but not offered
