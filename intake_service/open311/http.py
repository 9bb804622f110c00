"""What every Open311 route shares: the format by suffix, the answer in that format, and
every failure as Open311's `errors` document (never problem+json), the jurisdiction and the
API key rules."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from intake_service.open311 import formats
from intake_service.open311.errors import Open311Error
from intake_service.settings import IntakeSettings
from shared.runtime import ratelimit
from shared.runtime.problems import Problem

log = logging.getLogger("hotline.open311")


def fmt_of_path(path: str) -> formats.Format:
    return "json" if path.endswith(".json") else "xml"


def answer(fmt: formats.Format, root: str, document: dict[str, Any] | list[Any]) -> Response:
    return Response(formats.render(fmt, root, document), media_type=formats.CONTENT_TYPES[fmt])


def failure(
    fmt: formats.Format, error: Open311Error, headers: dict[str, str] | None = None
) -> Response:
    body = [{"code": f.code, "description": f.description} for f in error.failures]
    return Response(
        formats.render(fmt, "errors", body),
        status_code=error.status,
        media_type=formats.CONTENT_TYPES[fmt],
        headers=headers,
    )


class Open311Route(APIRoute):
    """Turns every failure of an Open311 route into Open311's error document."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            fmt = fmt_of_path(request.url.path)
            try:
                return await handle(request)
            except Open311Error as exc:
                return failure(fmt, exc)
            except RequestValidationError as exc:  # a parameter of the wrong shape
                detail = "; ".join(str(e.get("msg", e)) for e in exc.errors()) or "bad request"
                return failure(fmt, Open311Error.one(400, detail))
            except Problem as exc:  # the appeal's own rules, a rate limit (with Retry-After)
                return failure(fmt, Open311Error.one(exc.status, exc.detail), exc.headers)
            except HTTPException as exc:  # e.g. a body over the limit (413)
                return failure(fmt, Open311Error.one(exc.status_code, str(exc.detail)))
            except Exception:
                # Ours, not the client's: a 5xx, so clients retry and monitoring sees it.
                log.exception("open311 request failed")
                return failure(fmt, Open311Error.one(500, "the server failed; try again later"))

        return guarded


def format_of(suffix: str) -> formats.Format:
    fmt = formats.fmt_of(suffix)
    if fmt is None:
        raise Open311Error.one(404, "the format is .xml or .json")
    return fmt


def check_jurisdiction(settings: IntakeSettings, given: str | None) -> None:
    """One jurisdiction: the parameter is optional, and must name it when given."""
    if given and given != settings.georeport_jurisdiction_id:
        raise Open311Error.one(404, f"unknown jurisdiction_id {given}")


def check_key(
    request: Request, settings: IntakeSettings, key: str | None, *, required: bool
) -> str | None:
    """The partner a key names. POST needs a known key; a GET that names one names a known
    one (a wrong key is worth telling, not ignoring). Every unknown key counts against the
    client's anonymous limit, GET or POST: guessing keys is throttled (429) either way."""
    partner = settings.georeport_partners().get(key or "")
    if partner is None and (required or key):
        ratelimit.of(request).hit(
            ratelimit.item(settings.rate_limit_anonymous),
            "open311-key",
            ratelimit.client_of(request),
        )
        raise Open311Error.one(403, "api_key missing or not recognised")
    return partner
