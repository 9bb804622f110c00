"""Open311's public reads: service requests and their updates. Only appeals that may be
public appear (never a report, an anonymous or unconsented appeal, or a conduct complaint),
masked by `mapping`; the citizen's sealed data is opened in memory only to mask it."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from intake_service import personal, store
from intake_service.catalogue import Catalogue
from intake_service.open311 import mapping, params
from intake_service.open311 import views as v
from intake_service.open311.api import catalogue_in_force
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
from shared.runtime.eventstore import Tx

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


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
    catalogue, _ = await catalogue_in_force(runtime)
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
    catalogue, _ = await catalogue_in_force(runtime)
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
    check_key(request, settings, given.get("api_key"), required=False)
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
