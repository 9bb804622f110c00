"""Open311 GeoReport v2 routes under /open311/v2/. The format is the path's suffix (`.xml`
or `.json`); every error is Open311's `errors` document in that format, never problem+json.
A request filed here is an ordinary appeal, filed as POST /v1/appeals files one."""

from datetime import UTC, datetime, timedelta
from typing import Any

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
from intake_service.store import updates as feed
from shared.conduct import CONDUCT_PREFIX
from shared.decisions import Context
from shared.runtime import ratelimit
from shared.runtime.eventstore import Tx
from shared.runtime.ratelimit import client_of

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


async def _catalogue(runtime: IntakeRuntime) -> tuple[Catalogue, datetime]:
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
    _, published_at = await _catalogue(runtime)
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
    catalogue, _ = await _catalogue(runtime)
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
    catalogue, _ = await _catalogue(runtime)
    service = _service(catalogue, service_code)
    if not service.metadata:
        raise Open311Error.one(404, f"{service_code} has no service definition (metadata=false)")
    return answer(fmt, "service_definition", mapping.service_definition(service))


@router.post(
    "/requests.{suffix}",
    response_model=None,
    responses=v.document(list[v.Created], "the new request's id"),
    openapi_extra=v.FORM,
)
async def create_request(suffix: str, request: Request, runtime: IntakeRuntime) -> Response:
    fmt = format_of(suffix)
    settings = runtime.settings
    form = params.parse_form(await request.body())
    limiter = ratelimit.of(request)
    key = params.single(form, "api_key")
    if key not in settings.georeport_partners():  # guessing keys: counted per client
        limiter.hit(
            ratelimit.item(settings.rate_limit_anonymous), "open311-key", client_of(request)
        )
    partner = check_key(settings, key, required=True)
    assert partner is not None
    limiter.hit(ratelimit.item(settings.rate_limit_open311_post), "open311-post", partner)
    check_jurisdiction(settings, params.single(form, "jurisdiction_id"))
    catalogue, _ = await _catalogue(runtime)
    service = _service(catalogue, params.single(form, "service_code"))
    appeal, extras = filing.new_appeal(service, form)
    async with runtime.db.transaction() as tx:
        received = await appeal_filing.file_appeal(
            tx,
            appeal,
            context=Context(actor=f"partner:{partner}", now=datetime.now(UTC)),
            keyring=personal.Keyring.of(settings),
            extras={**extras, "partner": partner},
            repeat_window=timedelta(hours=settings.repeat_window_hours),
        )
    created = {
        "service_request_id": str(received.subject),
        "service_notice": "已受理，将按类别派至责任单位 Received; it goes to the responsible unit",
    }
    return answer(fmt, "service_requests", [created])


async def _records(
    tx: Tx,
    rows: list[dict[str, Any]],
    catalogue: Catalogue,
    *,
    extensions: bool,
    keyring: personal.Keyring,
) -> list[dict[str, Any]]:
    found = await feed.of_appeals(tx, [row["id"] for row in rows])
    records = []
    # The location is sealed with the citizen's personal data; what mapping publishes of
    # it is mapping's to decide.
    for row in await personal.revealed_rows(tx, keyring, rows):
        updates = found.get(row["id"], [])
        record = mapping.request_record(row, catalogue, updates)
        records.append(mapping.with_extensions(record, row, updates) if extensions else record)
    return records


@router.get(
    "/requests.{suffix}",
    response_model=None,
    responses=v.document(list[v.ServiceRequest], "requests, newest first"),
    openapi_extra=v.query(
        "jurisdiction_id",
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
        "extensions",
    ),
)
async def list_requests(suffix: str, request: Request, runtime: IntakeRuntime) -> Response:
    fmt = format_of(suffix)
    given = dict(request.query_params)
    check_jurisdiction(runtime.settings, given.get("jurisdiction_id"))
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
            hidden_prefix=CONDUCT_PREFIX,  # see get_request
        )
        records = await _records(
            tx,
            rows,
            catalogue,
            extensions=query.extensions,
            keyring=personal.Keyring.of(runtime.settings),
        )
    return answer(fmt, "service_requests", records)


@router.get(
    "/requests/{service_request_id}.{suffix}",
    response_model=None,
    responses=v.document(list[v.ServiceRequest], "the request, as a list of one"),
    openapi_extra=v.query("jurisdiction_id", "extensions"),
)
async def get_request(
    service_request_id: str, suffix: str, request: Request, runtime: IntakeRuntime
) -> Response:
    fmt = format_of(suffix)
    given = dict(request.query_params)
    check_jurisdiction(runtime.settings, given.get("jurisdiction_id"))
    extensions = params.extensions(given)
    catalogue, _ = await _catalogue(runtime)
    appeal_id = params.request_id(service_request_id)
    async with runtime.db.transaction() as tx:
        # Only appeals that may be public: any other is unknown here, as if it did not exist.
        # A conduct complaint is never public: its text and place could tell the department
        # complained about who complained.
        found = (
            []
            if appeal_id is None
            else await store.find(tx, ids=[appeal_id], limit=1, hidden_prefix=CONDUCT_PREFIX)
        )
        row = found[0] if found else None
        if row is None:
            raise Open311Error.one(404, f"unknown service_request_id {service_request_id}")
        records = await _records(
            tx,
            [row],
            catalogue,
            extensions=extensions,
            keyring=personal.Keyring.of(runtime.settings),
        )
    return answer(fmt, "service_requests", records)


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


@router.get(
    "/servicerequestupdates.{suffix}",
    response_model=None,
    responses=v.document(list[v.RequestUpdate], "updates, oldest first"),
    openapi_extra=v.query("jurisdiction_id", "api_key", "start_date", "end_date"),
)
async def service_request_updates(
    suffix: str, request: Request, runtime: IntakeRuntime
) -> Response:
    """FixMyStreet's update feed: one update per public fact, oldest first, whose fact
    happened between start_date and end_date (inclusive; at most 90 days, by default the
    most recent 90), at most 1,000: a client reading more continues from the last
    updated_datetime and recognises repeats by update_id."""
    fmt = format_of(suffix)
    given = dict(request.query_params)
    settings = runtime.settings
    check_jurisdiction(settings, given.get("jurisdiction_id"))
    check_key(settings, given.get("api_key"), required=False)
    since, until = params.window(given, datetime.now(UTC))
    async with runtime.db.transaction() as tx:
        found = await feed.between(
            tx, since, until, params.MAX_REQUESTS, hidden_prefix=CONDUCT_PREFIX
        )
        # the citizen's own name is masked in the text: opened in memory for that only
        opened = await personal.revealed_rows(
            tx, personal.Keyring.of(runtime.settings), [row for _, row in found]
        )
    entries = [
        mapping.update_entry(update, row["received"]["citizen"].get("name"))
        for (update, _), row in zip(found, opened, strict=True)
    ]
    return answer(fmt, "service_request_updates", entries)


@router.api_route(
    "/{anything:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown(anything: str) -> Response:
    raise Open311Error.one(404, f"no Open311 resource {anything} for this method")
