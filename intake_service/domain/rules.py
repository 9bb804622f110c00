"""Classification rules: keywords per catalogue code and the danger-to-life-or-property
urgency rule, matched on the appeal's text by substring (Chinese has no spaces to split
words on, and substring matching needs no segmenter). Pure."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, Protocol

from shared import events

# Danger to life or property: such an appeal is urgent whatever the caller said.
DANGER_KEYWORDS: Final = (
    "燃气泄漏",
    "煤气泄漏",
    "天然气泄漏",
    "漏气",
    "闻到煤气",
    "起火",
    "着火",
    "火灾",
    "冒烟",
    "爆炸",
    "触电",
    "漏电",
    "电线裸露",
    "坍塌",
    "倒塌",
    "塌方",
    "塌陷",
    "被困",
    "困在电梯",
    "溺水",
    "有人受伤",
    "生命危险",
    "gas leak",
    "fire",
    "trapped",
    "collapse",
    "electrocut",
)


@dataclass(frozen=True, slots=True)
class Classification:
    """What filing decided and why: the caller's choice or the rules' match."""

    category: str
    category_source: Literal["caller", "keywords"]
    category_keywords: tuple[str, ...] = ()
    urgency: events.Urgency = "normal"
    urgency_source: Literal["caller", "danger_keywords"] = "caller"
    danger_keywords: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Category(Protocol):
    """A catalogue entry as the rules read it: its code and its keywords."""

    @property
    def code(self) -> str: ...

    @property
    def keywords(self) -> Sequence[str]: ...


class Catalogue(Protocol):
    """The catalogue in force (intake_service.catalogue.Catalogue), as the rules read it."""

    @property
    def services(self) -> Sequence[Category]: ...


class NoCategoryError(ValueError):
    """No category was given and no keyword of the catalogue matched the text."""


def matching_keywords(text: str, keywords: Sequence[str]) -> tuple[str, ...]:
    folded = text.casefold()
    return tuple(k for k in keywords if k.casefold() in folded)


def best_category(catalogue: Catalogue, text: str) -> tuple[str, tuple[str, ...]] | None:
    """The code whose keywords cover most of the text (by matched characters); the earlier
    code in the catalogue wins a tie."""
    best: tuple[int, str, tuple[str, ...]] | None = None
    for service in catalogue.services:
        found = matching_keywords(text, service.keywords)
        score = sum(len(k) for k in found)
        if found and (best is None or score > best[0]):
            best = (score, service.code, found)
    return None if best is None else (best[1], best[2])


def classify(
    catalogue: Catalogue | None,
    *,
    text: str,
    category: str | None,
    urgency: events.Urgency,
) -> Classification:
    danger = matching_keywords(text, DANGER_KEYWORDS)
    urgent: dict[str, Any] = (
        {"urgency": "urgent", "urgency_source": "danger_keywords", "danger_keywords": danger}
        if danger and urgency != "urgent"
        else {"urgency": urgency, "danger_keywords": danger}
    )
    if category is not None:
        return Classification(category=category, category_source="caller", **urgent)
    match = None if catalogue is None else best_category(catalogue, text)
    if match is None:
        raise NoCategoryError("no category given, and no catalogue keyword matches the content")
    return Classification(
        category=match[0], category_source="keywords", category_keywords=match[1], **urgent
    )
