"""Open311 GeoReport v2 conformance, written from the specification's text (open311.md),
against a real intake process, in both formats: the shapes of every document and every
error case the specification names, each as Open311's `errors` document."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from services.processes import ServiceProcess
from tests.e2e.test_open311 import seed_catalogue
from tests.support import processes

pytestmark = pytest.mark.e2e
KEY = "conformance-key"
FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
VALID = (
    f"api_key={KEY}&service_code=water.quality&lat=31.2304&long=121.4737"
    "&attribute[symptoms][]=turbid&attribute%5Bsymptoms%5D%5B%5D=smell&description=水发黄"
    "&first_name=明&last_name=王"  # not anonymous: an anonymous request is never public
)


@pytest.fixture(scope="module")
async def intake(servers: None) -> AsyncIterator[ServiceProcess]:
    """intake alone (Open311 needs no other service), with one partner key."""
    process = await processes.make("intake")
    process.env["HOTLINE_GEOREPORT_API_KEYS"] = json.dumps({KEY: "conformance"})
    await seed_catalogue(process)
    process.start()
    try:
        await process.ready()
        yield process
    finally:
        process.stop()


@pytest.fixture
async def client(intake: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{intake.url}/open311/v2", timeout=10) as client:
        yield client


def _errors(response: httpx.Response, fmt: str) -> list[tuple[int, str]]:
    """The `{code, description}` items of an errors document, in either format."""
    assert response.headers["content-type"] == CONTENT_TYPES[fmt], response.text
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list)
        assert all(isinstance(e["code"], int) for e in body)
        return [(e["code"], e["description"]) for e in body]
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    return [(int(e.findtext("code") or 0), e.findtext("description") or "") for e in root]


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  # without the format suffix
    status: int
    says: str  # a fragment of the description shown to users
    form: str | None = None
    query: dict[str, str] | None = None


def _without(*names: str, also: str = "") -> str:
    kept = [p for p in VALID.split("&") if p.split("=")[0] not in names]
    return "&".join(kept) + also


CASES = [
    # §5 POST: the key, the jurisdiction, the service code
    Case("post without api_key", "POST", "/requests", 403, "api_key", _without("api_key")),
    Case(
        "post with a wrong api_key",
        "POST",
        "/requests",
        403,
        "api_key",
        _without("api_key", also="&api_key=guess"),
    ),
    Case(
        "post in another jurisdiction",
        "POST",
        "/requests",
        404,
        "jurisdiction",
        VALID + "&jurisdiction_id=sfgov.org",
    ),
    Case(
        "post without service_code",
        "POST",
        "/requests",
        400,
        "service_code",
        _without("service_code"),
    ),
    Case(
        "post for an unknown service_code",
        "POST",
        "/requests",
        404,
        "no.such",
        _without("service_code", also="&service_code=no.such"),
    ),
    # §5 the location: lat+long as a pair, or address_string, or address_id
    Case("post without a location", "POST", "/requests", 400, "location", _without("lat", "long")),
    Case("post with lat alone", "POST", "/requests", 400, "lat and long", _without("long")),
    Case("post with long alone", "POST", "/requests", 400, "lat and long", _without("lat")),
    Case(
        "post with lat out of range",
        "POST",
        "/requests",
        400,
        "-90..90",
        _without("lat", also="&lat=91"),
    ),
    Case(
        "post with an address_id this endpoint has no register for",
        "POST",
        "/requests",
        400,
        "address_id",
        _without("lat", "long", also="&address_id=A-1"),
    ),
    # §5 attributes, validated against the definition
    Case(
        "post without a required attribute",
        "POST",
        "/requests",
        400,
        "attribute[scope] is required",
        f"api_key={KEY}&service_code=water.outage&address_string=幸福路1号",
    ),
    Case(
        "post a list key outside values",
        "POST",
        "/requests",
        400,
        "fizzy",
        VALID + "&attribute[symptoms][]=fizzy",
    ),
    Case(
        "post a single value outside values",
        "POST",
        "/requests",
        400,
        "unknown key everywhere",
        f"api_key={KEY}&service_code=water.outage&lat=31&long=121&attribute[scope]=everywhere",
    ),
    Case(
        "post an attribute the service does not have",
        "POST",
        "/requests",
        400,
        "attribute[colour]",
        VALID + "&attribute[colour]=red",
    ),
    Case(
        "post a number that is not one",
        "POST",
        "/requests",
        400,
        "not a number",
        f"api_key={KEY}&service_code=heating.insufficient&lat=31&long=121"
        "&attribute[room_temperature]=warm",
    ),
    Case(
        "post a datetime without offset",
        "POST",
        "/requests",
        400,
        "attribute[since]",
        f"api_key={KEY}&service_code=water.outage&lat=31&long=121&attribute[scope]=area"
        "&attribute[since]=2026-03-01T08:00:00",
    ),
    Case(
        "post a one-line string with a line break",
        "POST",
        "/requests",
        400,
        "one line",
        f"api_key={KEY}&service_code=traffic.bus&lat=31&long=121&attribute[line]=3%0A路",
    ),
    Case(
        "post a description over 4,000 characters",
        "POST",
        "/requests",
        400,
        "4000",
        _without("description", also="&description=" + "x" * 4001),
    ),
    # §3, §4: services and definitions
    Case(
        "services of another jurisdiction",
        "GET",
        "/services",
        404,
        "jurisdiction",
        query={"jurisdiction_id": "sfgov.org"},
    ),
    Case("definition of an unknown service", "GET", "/services/no.such", 404, "no.such"),
    Case(
        "definition of a service without metadata",
        "GET",
        "/services/housing.repair",
        404,
        "metadata",
    ),
    Case(
        "definition in another jurisdiction",
        "GET",
        "/services/water.outage",
        404,
        "jurisdiction",
        query={"jurisdiction_id": "sfgov.org"},
    ),
    # §6 GET requests: dates with offsets, a window of at most 90 days, status values
    Case(
        "requests with a start_date without offset",
        "GET",
        "/requests",
        400,
        "offset",
        query={"start_date": "2026-01-01T00:00:00"},
    ),
    Case(
        "requests over more than 90 days",
        "GET",
        "/requests",
        400,
        "90 days",
        query={"start_date": "2025-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00+08:00"},
    ),
    Case(
        "requests ending before they start",
        "GET",
        "/requests",
        400,
        "after end_date",
        query={"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    ),
    Case(
        "requests with an unknown status",
        "GET",
        "/requests",
        400,
        "status",
        query={"status": "pending"},
    ),
    Case(
        "requests in another jurisdiction",
        "GET",
        "/requests",
        404,
        "jurisdiction",
        query={"jurisdiction_id": "sfgov.org"},
    ),
    Case(
        "requests with extensions=maybe",
        "GET",
        "/requests",
        400,
        "extensions",
        query={"extensions": "maybe"},
    ),
    Case(
        "an unknown request",
        "GET",
        "/requests/00000000-0000-0000-0000-000000000000",
        404,
        "unknown service_request_id",
    ),
    Case("a request id that is none", "GET", "/requests/A-1", 404, "unknown service_request_id"),
    Case(
        "a request in another jurisdiction",
        "GET",
        "/requests/00000000-0000-0000-0000-000000000000",
        404,
        "jurisdiction",
        query={"jurisdiction_id": "sfgov.org"},
    ),
    # §5 tokens: realtime services issue none
    Case("an unknown token", "GET", "/tokens/T-1", 404, "unknown token T-1"),
    Case("a token missing", "GET", "/tokens", 400, "token is required"),
    Case(
        "a token in another jurisdiction",
        "GET",
        "/tokens/T-1",
        404,
        "jurisdiction",
        query={"jurisdiction_id": "sfgov.org"},
    ),
    # §8 the update feed
    Case(
        "updates with a wrong api_key",
        "GET",
        "/servicerequestupdates",
        403,
        "api_key",
        query={"api_key": "guess"},
    ),
    Case(
        "updates without an offset",
        "GET",
        "/servicerequestupdates",
        400,
        "offset",
        query={"start_date": "2026-01-01T00:00:00", "end_date": "2026-01-02T00:00:00Z"},
    ),
    Case(
        "updates over more than 90 days",
        "GET",
        "/servicerequestupdates",
        400,
        "90 days",
        query={"start_date": "2025-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    ),
    Case(
        "updates ending before they start",
        "GET",
        "/servicerequestupdates",
        400,
        "after end_date",
        query={"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    ),
    Case(
        "updates in another jurisdiction",
        "GET",
        "/servicerequestupdates",
        404,
        "jurisdiction",
        query={"jurisdiction_id": "sfgov.org"},
    ),
    Case(
        "a resource the specification does not have", "GET", "/comments", 404, "no Open311 resource"
    ),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_error_is_an_errors_document(
    client: httpx.AsyncClient, case: Case, fmt: str
) -> None:
    if case.method == "POST":
        response = await client.post(
            f"{case.path}.{fmt}", content=case.form or "", headers=FORM_TYPE
        )
    else:
        response = await client.get(f"{case.path}.{fmt}", params=case.query)
    assert response.status_code == case.status, response.text
    errors = _errors(response, fmt)
    assert errors, "at least one error"
    assert errors[0][0] == case.status
    assert case.says in " ".join(d for _, d in errors), errors


async def test_an_unknown_format_is_an_xml_errors_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/services.html")
    assert response.status_code == 404
    assert _errors(response, "xml")[0][0] == 404


def _items(response: httpx.Response, fmt: str, root: str) -> list[dict[str, Any]]:
    """A list document as dicts of text (XML) or as the JSON array it is."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPES[fmt]
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list)  # the root wrapper is dropped: a top-level array
        return body
    document = ET.fromstring(response.content)
    assert document.tag == root
    return [{child.tag: child.text for child in item} for item in document]


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None
    return parsed


@pytest.mark.parametrize("fmt", FORMATS)
async def test_documents_have_the_specified_shapes(client: httpx.AsyncClient, fmt: str) -> None:
    services = _items(await client.get(f"/services.{fmt}"), fmt, "services")
    assert {s["type"] for s in services} == {"realtime"}
    assert all(isinstance(s["service_code"], str) for s in services)
    created = _items(
        await client.post(f"/requests.{fmt}", content=VALID, headers=FORM_TYPE),
        fmt,
        "service_requests",
    )
    [answer] = created  # an array of one: service_request_id, never a token as well
    assert isinstance(answer["service_request_id"], str)
    assert "token" not in answer
    request_id = answer["service_request_id"]
    one = _items(await client.get(f"/requests/{request_id}.{fmt}"), fmt, "service_requests")
    [record] = one
    assert record["service_request_id"] == request_id
    assert record["status"] == "open"
    assert _aware(record["requested_datetime"]) <= _aware(record["updated_datetime"])
    # an empty optional parameter equals an absent one
    listed = _items(
        await client.get(
            f"/requests.{fmt}", params={"jurisdiction_id": "", "status": "", "service_code": ""}
        ),
        fmt,
        "service_requests",
    )
    assert request_id in [r["service_request_id"] for r in listed]
    updates = _items(
        await client.get(f"/servicerequestupdates.{fmt}", params={"api_key": KEY}),
        fmt,
        "service_request_updates",
    )
    received, forwarded = [u for u in updates if u["service_request_id"] == request_id]
    assert (received["status"], received["external_status_code"]) == (
        "for_triage",
        "appeal.received",
    )
    assert (forwarded["status"], forwarded["external_status_code"]) == (
        "for_triage",
        "appeal.forwarded",
    )
    assert isinstance(received["update_id"], str)
    _aware(received["updated_datetime"])


async def test_the_update_window_is_inclusive_and_in_time_order(client: httpx.AsyncClient) -> None:
    created = await client.post("/requests.json", content=VALID, headers=FORM_TYPE)
    [answer] = created.json()
    request_id = answer["service_request_id"]
    [record] = (await client.get(f"/requests/{request_id}.json")).json()
    start = _aware(record["requested_datetime"])  # whole seconds; the fact's time is finer

    async def updated_between(since: datetime, until: datetime) -> list[dict[str, Any]]:
        params = {"start_date": since.isoformat(), "end_date": until.isoformat()}
        response = await client.get("/servicerequestupdates.json", params=params)
        assert response.status_code == 200, response.text
        return list(response.json())

    inside = await updated_between(start, start + timedelta(seconds=1))
    before = await updated_between(start - timedelta(hours=1), start - timedelta(seconds=1))
    assert request_id in [u["service_request_id"] for u in inside]
    assert request_id not in [u["service_request_id"] for u in before]
    whole_day = await updated_between(start - timedelta(days=1), start + timedelta(days=1))
    times = [_aware(u["updated_datetime"]) for u in whole_day]
    assert len(times) >= 2
    assert times == sorted(times)
