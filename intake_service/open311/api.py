"""Open311 GeoReport v2 routes under /open311/v2/: discovery, the service list, filing and
tokens (the public feeds of requests and updates are `feeds`). The format is the path's
suffix (`.xml` or `.json`); every error is Open311's `errors` document in that format, never
problem+json. A request filed here is an ordinary appeal, filed as POST /v1/appeals files
one. The catch-all 404 is here, so main.py joins this router after `feeds`."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response

from intake_service import filing as appeal_filing
from intake_service import personal, store
from intake_service.catalogue import Catalogue, Service
from intake_service.open311 import filing, mapping, params
from intake_service.open311 import views as v
from intake_service.open311.errors import Open311Error
from intake_service.open311.http import (
    Open311Route,
    answer,
    check_jurisdiction,
    check_key,
    format_of,
)
from intake_service.routes.deps import IntakeRuntime
from shared.decisions import Context
from shared.runtime import idempotency, ratelimit
from shared.runtime.eventstore import Tx

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


async def catalogue_in_force(runtime: IntakeRuntime) -> tuple[Catalogue, datetime]:
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


@router.get(
    "/discovery.{suffix}",
    response_model=None,
    responses=v.document(v.Discovery, "the endpoints and their formats"),
)
async def discovery(suffix: str, request: Request, runtime: IntakeRuntime) -> Response:
    fmt = format_of(suffix)
    settings = runtime.settings
    _, published_at = await catalogue_in_force(runtime)
    document = mapping.discovery(
        changeset=params.format_datetime(published_at),
        contact=settings.georeport_contact,
        key_service=settings.georeport_key_service,
        url=str(request.url_for("discovery", suffix=suffix)),
        production=settings.environment == "production",
    )
    return answer(fmt, "discovery", document)


@router.get(
    "/services.{suffix}",
    response_model=None,
    responses=v.document(list[v.ServiceEntry], "every service (appeal category)"),
)
async def services(
    suffix: str, runtime: IntakeRuntime, jurisdiction_id: str | None = None
) -> Response:
    fmt = format_of(suffix)
    check_jurisdiction(runtime.settings, jurisdiction_id)
    catalogue, _ = await catalogue_in_force(runtime)
    return answer(fmt, "services", [mapping.service_entry(s) for s in catalogue.services])


@router.get(
    "/services/{service_code}.{suffix}",
    response_model=None,
    responses=v.document(v.ServiceDefinition, "the service's attributes"),
)
async def service_definition(
    service_code: str, suffix: str, runtime: IntakeRuntime, jurisdiction_id: str | None = None
) -> Response:
    fmt = format_of(suffix)
    check_jurisdiction(runtime.settings, jurisdiction_id)
    catalogue, _ = await catalogue_in_force(runtime)
    service = _service(catalogue, service_code)
    if not service.metadata:
        raise Open311Error.one(404, f"{service_code} has no service definition (metadata=false)")
    return answer(fmt, "service_definition", mapping.service_definition(service))


NOTICE = "已受理，将按类别派至责任单位 Received; it goes to the responsible unit"


@router.post(
    "/requests.{suffix}",
    response_model=None,
    responses=v.document(list[v.Created], "the new request's id"),
    openapi_extra=v.FORM,
)
async def create_request(
    suffix: str,
    request: Request,
    runtime: IntakeRuntime,
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    """A partner that retries after a lost answer sends the same Idempotency-Key (not in
    GeoReport, but honoured as on every POST that creates): one appeal, the first answer."""
    fmt = format_of(suffix)
    settings = runtime.settings
    form = params.parse_form(await request.body())
    partner = check_key(request, settings, params.single(form, "api_key"), required=True)
    assert partner is not None
    limit = ratelimit.item(settings.rate_limit_open311_post)
    ratelimit.of(request).hit(limit, "open311-post", partner)
    check_jurisdiction(settings, params.single(form, "jurisdiction_id"))
    catalogue, _ = await catalogue_in_force(runtime)
    service = _service(catalogue, params.single(form, "service_code"))
    appeal, extras = filing.new_appeal(service, form)

    async def accept(tx: Tx) -> idempotency.StoredResponse:
        received = await appeal_filing.file_appeal(
            tx,
            appeal,
            context=Context(actor=f"partner:{partner}", now=datetime.now(UTC)),
            keyring=personal.Keyring.of(settings),
            extras={**extras, "partner": partner},
            repeat_window=timedelta(hours=settings.repeat_window_hours),
        )
        created = {"service_request_id": str(received.subject), "service_notice": NOTICE}
        return idempotency.StoredResponse(200, created)

    created = await idempotency.run_once(
        runtime.commits,
        scope=f"intake:open311:{partner}",
        key=idempotency_key,
        request_body=lambda: form,
        action=accept,
    )
    return answer(fmt, "service_requests", [created.body])


@router.get(
    "/tokens.{suffix}",
    response_model=None,
    responses=v.document(list[v.Failure], "never: a token is always required"),
)
async def no_token(suffix: str) -> Response:
    format_of(suffix)
    raise Open311Error.one(400, "token is required: GET /tokens/{token}.xml")


@router.get(
    "/tokens/{token}.{suffix}",
    response_model=None,
    responses=v.document(list[v.Failure], "never: services here issue no tokens"),
)
async def token(
    token: str, suffix: str, runtime: IntakeRuntime, jurisdiction_id: str | None = None
) -> Response:
    """Tokens are for `batch` services. Every service here is `realtime`: POST /requests
    answers with the service_request_id at once and never with a token (the specification
    allows one or the other, never both), so no token is ever known."""
    format_of(suffix)
    check_jurisdiction(runtime.settings, jurisdiction_id)
    raise Open311Error.one(
        404, f"unknown token {token}: services here are realtime and issue no tokens"
    )


@router.api_route(
    "/{anything:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown(anything: str) -> Response:
    raise Open311Error.one(404, f"no Open311 resource {anything} for this method")
