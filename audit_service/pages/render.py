"""Rendering the auditor's pages from the Jinja2 templates in audit_service/templates.

Autoescaped (every value from a fact is escaped on its way out), StrictUndefined (a name
the template uses and nobody passed fails instead of rendering as nothing), and served with
a Content-Security-Policy that forbids every script: the pages need none."""

from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from audit_service.pages import sentences
from audit_service.pages.language import Language
from audit_service.pages.timeline import percent

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Vary": "Accept-Language",
}

ENVIRONMENT = Environment(
    loader=PackageLoader("audit_service", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.filters["percent"] = percent
ENVIRONMENT.filters["local_time"] = sentences.local_time


def page(template: str, lang: Language, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = ENVIRONMENT.get_template(template).render(
        lang=lang, t=lang.catalogue.messages, catalogue=lang.catalogue, **context
    )
    return HTMLResponse(html, status, headers=HEADERS)
