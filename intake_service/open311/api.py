"""Open311 GeoReport v2 routes under /open311/v2/. The format is the path's suffix (`.xml`
or `.json`); every error is Open311's `errors` document in that format, never problem+json.
A request filed here is an ordinary appeal, filed as POST /v1/appeals files one."""

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from intake_service import api as appeals_api
from intake_service import store
from intake_service.catalogue import Catalogue, Service
from intake_service.open311 import filing, formats, mapping, params
from intake_service.open311.errors import Open311Error
from intake_service.settings import IntakeSettings
from shared.runtime.app import Runtime, RuntimeDep

log = logging.getLogger("hotline.open311")


def _fmt_of_path(path: str) -> formats.Format:
    return "json" if path.endswith(".json") else "xml"


def _answer(fmt: formats.Format, root: str, document: dict[str, Any] | list[Any]) -> Response:
    return Response(formats.render(fmt, root, document), media_type=formats.CONTENT_TYPES[fmt])


def _failure(fmt: formats.Format, error: Open311Error) -> Response:
    body = [{"code": f.code, "description": f.description} for f in error.failures]
    return Response(
        formats.render(fmt, "errors", body),
        status_code=error.status,
        media_type=formats.CONTENT_TYPES[fmt],
    )


class Open311Route(APIRoute):
    """Turns every failure of an Open311 route into Open311's error document."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            fmt = _fmt_of_path(request.url.path)
            try:
                return await handle(request)
            except Open311Error as exc:
                return _failure(fmt, exc)
            except Exception:
                log.exception("open311 request failed")
                return _failure(fmt, Open311Error.one(400, "the request failed; try again later"))

        return guarded


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


def _settings(runtime: Runtime) -> IntakeSettings:
    assert isinstance(runtime.settings, IntakeSettings)
    return runtime.settings


def _format(suffix: str) -> formats.Format:
    fmt = formats.fmt_of(suffix)
    if fmt is None:
        raise Open311Error.one(404, "the format is .xml or .json")
    return fmt


def _jurisdiction(settings: IntakeSettings, given: str | None) -> None:
    """One jurisdiction: the parameter is optional, and must name it when given."""
    if given and given != settings.georeport_jurisdiction_id:
        raise Open311Error.one(404, f"unknown jurisdiction_id {given}")


async def _catalogue(runtime: Runtime) -> tuple[Catalogue, datetime]:
    async with runtime.db.transaction() as tx:
        current = await store.current_catalogue(tx)
    if current is None:
        raise Open311Error.one(400, "the service list is not available yet")
    return current[1], current[2]


def _service(catalogue: Catalogue, code: str | None) -> Service:
    if not code:
        raise Open311Error.one(400, "service_code is required")
    service = catalogue.find(code)
    if service is None:
        raise Open311Error.one(404, f"unknown service_code {code}")
    return service


@router.get("/discovery.{suffix}")
async def discovery(suffix: str, request: Request, runtime: RuntimeDep) -> Response:
    fmt = _format(suffix)
    settings = _settings(runtime)
    _, published_at = await _catalogue(runtime)
    document = mapping.discovery(
        changeset=params.format_datetime(published_at),
        contact=settings.georeport_contact,
        key_service=settings.georeport_key_service,
        url=str(request.url_for("discovery", suffix=suffix)),
        production=settings.environment == "production",
    )
    return _answer(fmt, "discovery", document)


@router.get("/services.{suffix}")
async def services(
    suffix: str, runtime: RuntimeDep, jurisdiction_id: str | None = None
) -> Response:
    fmt = _format(suffix)
    _jurisdiction(_settings(runtime), jurisdiction_id)
    catalogue, _ = await _catalogue(runtime)
    return _answer(fmt, "services", [mapping.service_entry(s) for s in catalogue.services])


@router.get("/services/{service_code}.{suffix}")
async def service_definition(
    service_code: str, suffix: str, runtime: RuntimeDep, jurisdiction_id: str | None = None
) -> Response:
    fmt = _format(suffix)
    _jurisdiction(_settings(runtime), jurisdiction_id)
    catalogue, _ = await _catalogue(runtime)
    service = _service(catalogue, service_code)
    if not service.metadata:
        raise Open311Error.one(404, f"{service_code} has no service definition (metadata=false)")
    return _answer(fmt, "service_definition", mapping.service_definition(service))


@router.post("/requests.{suffix}")
async def create_request(suffix: str, request: Request, runtime: RuntimeDep) -> Response:
    fmt = _format(suffix)
    settings = _settings(runtime)
    form = params.parse_form(await request.body())
    partner = settings.georeport_partners().get(params.single(form, "api_key") or "")
    if partner is None:
        raise Open311Error.one(403, "api_key missing or not recognised")
    _jurisdiction(settings, params.single(form, "jurisdiction_id"))
    catalogue, _ = await _catalogue(runtime)
    service = _service(catalogue, params.single(form, "service_code"))
    appeal, extras = filing.new_appeal(service, form)
    async with runtime.db.transaction() as tx:
        received = await appeals_api.file_appeal(
            tx,
            appeal,
            actor=f"partner:{partner}",
            now=datetime.now(UTC),
            extras={**extras, "partner": partner},
        )
    created = {
        "service_request_id": str(received.subject),
        "service_notice": "已受理，将按类别派至责任单位 Received; it goes to the responsible unit",
    }
    return _answer(fmt, "service_requests", [created])


@router.get("/requests.{suffix}")
async def list_requests(suffix: str, request: Request, runtime: RuntimeDep) -> Response:
    fmt = _format(suffix)
    given = dict(request.query_params)
    _jurisdiction(_settings(runtime), given.get("jurisdiction_id"))
    query = params.query(given, datetime.now(UTC))
    catalogue, _ = await _catalogue(runtime)
    async with runtime.db.transaction() as tx:
        rows = await store.find(
            tx,
            ids=query.ids,
            categories=query.codes,
            since=query.since,
            until=query.until,
            closed=query.closed,
            limit=params.MAX_REQUESTS,
        )
    records = [mapping.request_record(row, catalogue) for row in rows]
    return _answer(fmt, "service_requests", records)


@router.get("/requests/{service_request_id}.{suffix}")
async def get_request(
    service_request_id: str, suffix: str, runtime: RuntimeDep, jurisdiction_id: str | None = None
) -> Response:
    fmt = _format(suffix)
    _jurisdiction(_settings(runtime), jurisdiction_id)
    appeal_id = params.request_id(service_request_id)
    row = None
    if appeal_id is not None:
        async with runtime.db.transaction() as tx:
            row = await store.get(tx, appeal_id)
    if row is None:
        raise Open311Error.one(404, f"unknown service_request_id {service_request_id}")
    catalogue, _ = await _catalogue(runtime)
    return _answer(fmt, "service_requests", [mapping.request_record(row, catalogue)])


@router.api_route(
    "/{anything:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown(anything: str) -> Response:
    raise Open311Error.one(404, f"no Open311 resource {anything} for this method")
