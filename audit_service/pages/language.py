"""Which language a page speaks: `?lang=zh|en` when given, else the browser's
Accept-Language, else Chinese. A page reached with `?lang=` keeps it in every link it
makes, so the choice holds as the auditor clicks on; the switch link on every page is that
same page with the other `lang`."""

from dataclasses import dataclass
from typing import get_args
from urllib.parse import urlencode

from fastapi import Request

from audit_service.pages.catalogue import CATALOGUES, Catalogue, Lang

DEFAULT: Lang = "zh"
LANGS: tuple[Lang, ...] = get_args(Lang)


@dataclass(frozen=True, slots=True)
class Language:
    code: Lang
    explicit: bool  # chosen with ?lang=, so links carry it on
    switch_to: str  # this page in the other language

    @property
    def catalogue(self) -> Catalogue:
        return CATALOGUES[self.code]

    def link(self, path: str, **query: str) -> str:
        """A link to another page, in this language."""
        params = {**query, **({"lang": self.code} if self.explicit else {})}
        return f"{path}?{urlencode(params)}" if params else path


def _parse(value: str | None) -> Lang | None:
    return next((lang for lang in LANGS if value == lang), None)


def from_accept_language(header: str | None) -> Lang:
    """The language the browser ranks highest among those the pages speak (q-values
    honoured, region ignored: zh-CN, zh-TW and zh are all Chinese)."""
    best: tuple[float, int, Lang] | None = None
    for order, item in enumerate((header or "").split(",")):
        tag, *params = (piece.strip() for piece in item.split(";"))
        lang = _parse(tag.split("-")[0].lower())
        quality = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if lang is not None and quality > 0 and (best is None or (-quality, order) < best[:2]):
            best = (-quality, order, lang)
    return best[2] if best is not None else DEFAULT


def language(request: Request) -> Language:
    """FastAPI dependency: the language of the page being asked for."""
    chosen = _parse(request.query_params.get("lang"))
    code = chosen or from_accept_language(request.headers.get("accept-language"))
    other = next(lang for lang in LANGS if lang != code)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = f"{request.url.path}?{urlencode([*query, ('lang', other)])}"
    return Language(code=code, explicit=chosen is not None, switch_to=switch)
