"""Open311 GeoReport v2 ⇄ the hotline's appeal: pure conversions and validation.

Every refusal is an `Open311Error` carrying the HTTP status and one or more `{code,
description}` items, rendered by `formats` in the caller's format.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from intake_service import domain
from intake_service.catalogue import Attribute, Catalogue, Service
from shared import events

SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"
LOCAL_TIME: Final = ZoneInfo("Asia/Shanghai")
MAX_WINDOW: Final = timedelta(days=90)
MAX_REQUESTS: Final = 1000
MAX_TEXT: Final = 4000
# Attribute codes that fill the appeal's own fields instead of its text.
APPEAL_FIELDS: Final = frozenset({"appeal_type", "urgency", "district"})
DEFAULT_APPEAL_TYPE: Final = "complaint"

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_MOBILE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9])")


@dataclass(frozen=True, slots=True)
class Failure:
    code: int
    description: str


class Open311Error(Exception):
    def __init__(self, status: int, *failures: Failure) -> None:
        super().__init__("; ".join(f.description for f in failures))
        self.status = status
        self.failures = failures

    @classmethod
    def one(cls, status: int, description: str) -> "Open311Error":
        return cls(status, Failure(status, description))


Form = Mapping[str, Sequence[str]]


def parse_form(body: bytes) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body (brackets raw or percent-encoded). An empty
    value equals an absent parameter, so empty values are dropped."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=False, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise Open311Error.one(400, "the body is not UTF-8") from exc
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


def single(form: Form, name: str) -> str | None:
    values = [v for v in form.get(name, ()) if v != ""]
    if len(values) > 1:
        raise Open311Error.one(400, f"{name} given more than once")
    return values[0] if values else None


def parse_datetime(value: str, name: str) -> datetime:
    """ISO 8601 (W3C profile) with a mandatory offset."""
    if not _DATETIME.match(value):
        raise Open311Error.one(
            400,
            f"{name} must be an ISO 8601 datetime with an offset, e.g. 2026-03-03T08:00:00+08:00",
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise Open311Error.one(400, f"{name} is not a valid datetime: {value}") from exc


def format_datetime(value: datetime) -> str:
    return value.astimezone(LOCAL_TIME).isoformat(timespec="seconds")


# --- services ---------------------------------------------------------------------------


def service_entry(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": service.metadata,
        "type": "realtime",
        "keywords": ",".join(service.keywords),
        "group": service.group,
    }


def service_definition(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "attributes": [_attribute(a) for a in service.ordered_attributes()],
    }


def _attribute(attribute: Attribute) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": attribute.datatype_description,
        "order": attribute.order,
        "description": attribute.description,
    }
    if attribute.values:
        entry["values"] = [{"key": v.key, "name": v.name} for v in attribute.values]
    return entry


# --- POST requests ----------------------------------------------------------------------


def attributes_in(form: Form) -> dict[str, list[str]]:
    """`attribute[CODE]=v` and `attribute[CODE][]=v1&attribute[CODE][]=v2`, by code."""
    found: dict[str, list[str]] = {}
    for key, values in form.items():
        if match := _ATTRIBUTE.match(key):
            found.setdefault(match.group(1), []).extend(v for v in values if v != "")
    return {code: values for code, values in found.items() if values}


def check_attributes(service: Service, given: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The submitted attribute values, typed, or every failure at once."""
    failures: list[Failure] = []
    known = {a.code: a for a in service.attributes if a.variable}
    for code in sorted(set(given) - set(known)):
        failures.append(Failure(400, f"attribute[{code}] is not an attribute of {service.code}"))
    typed: dict[str, Any] = {}
    for attribute in service.ordered_attributes():
        values = list(given.get(attribute.code, ()))
        if not attribute.variable:
            continue
        if not values:
            if attribute.required:
                failures.append(
                    Failure(
                        400, f"attribute[{attribute.code}] is required: {attribute.description}"
                    )
                )
            continue
        try:
            typed[attribute.code] = _typed(attribute, values)
        except ValueError as exc:
            failures.append(Failure(400, f"attribute[{attribute.code}]: {exc}"))
    if failures:
        raise Open311Error(400, *failures)
    return typed


def _typed(attribute: Attribute, values: list[str]) -> Any:
    keys = {v.key for v in attribute.values}
    if attribute.datatype == "multivaluelist":
        unknown = sorted(set(values) - keys)
        if unknown:
            raise ValueError(f"unknown keys {', '.join(unknown)}; expected some of {_keys(keys)}")
        return list(dict.fromkeys(values))
    if len(values) > 1:
        raise ValueError("takes one value")
    value = values[0]
    if len(value) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters")
    match attribute.datatype:
        case "singlevaluelist":
            if value not in keys:
                raise ValueError(f"unknown key {value}; expected one of {_keys(keys)}")
        case "number":
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"not a number: {value}") from None
            if not math.isfinite(number):
                raise ValueError(f"not a finite number: {value}")
            return int(number) if number.is_integer() and "." not in value else number
        case "datetime":
            try:
                return parse_datetime(value, f"attribute[{attribute.code}]").isoformat()
            except Open311Error as exc:
                raise ValueError(str(exc)) from None
        case "string":
            if "\n" in value or "\r" in value:
                raise ValueError("a string is one line")
    return value


def _keys(keys: set[str]) -> str:
    return ", ".join(sorted(keys))


def location(form: Form) -> events.Location:
    """lat+long (always a pair) or address_string; address_id needs an address register
    this endpoint does not have."""
    lat, long = single(form, "lat"), single(form, "long")
    address = single(form, "address_string")
    if (lat is None) != (long is None):
        raise Open311Error.one(400, "lat and long go together")
    if lat is None and address is None:
        if single(form, "address_id") is not None:
            raise Open311Error.one(
                400, "address_id is not supported here: send lat and long, or address_string"
            )
        raise Open311Error.one(400, "a location is required: lat and long, or address_string")
    try:
        return events.Location(
            address=address,
            lat=None if lat is None else float(lat),
            long=None if long is None else float(long),
        )
    except (ValueError, ValidationError):
        raise Open311Error.one(
            400, "lat must be -90..90 and long -180..180 (WGS84 degrees); address ≤ 500 chars"
        ) from None


def new_appeal(service: Service, form: Form) -> tuple[domain.NewAppeal, dict[str, Any]]:
    """The appeal a POST files, and the extras intake keeps beside it."""
    where = location(form)
    typed = check_attributes(service, attributes_in(form))
    description = single(form, "description")
    if description is not None and len(description) > MAX_TEXT:
        raise Open311Error.one(400, f"description is longer than {MAX_TEXT} characters")
    if district := typed.get("district"):
        where = where.model_copy(update={"district": district})
    name = " ".join(n for n in (single(form, "last_name"), single(form, "first_name")) if n)
    phone = single(form, "phone")
    try:
        citizen = events.Citizen(name=name or None, phone=phone, anonymous=not (name or phone))
    except ValidationError:
        raise Open311Error.one(
            400, "phone must be digits (5 to 20), optionally with + and -"
        ) from None
    try:
        appeal = domain.NewAppeal(
            channel="open311",
            appeal_type=typed.get("appeal_type", DEFAULT_APPEAL_TYPE),
            category=service.code,
            urgency=typed.get("urgency", "normal"),
            content=content(service, description, typed),
            citizen=citizen,
            location=where,
        )
    except ValidationError as exc:
        raise Open311Error.one(
            400, f"the request cannot be filed: {exc.errors()[0]['msg']}"
        ) from None
    extras: dict[str, Any] = {
        "attributes": typed,
        "media_url": single(form, "media_url"),
    }
    return appeal, extras


def content(service: Service, description: str | None, typed: Mapping[str, Any]) -> str:
    """The appeal's text: the citizen's description, then the attributes in words."""
    lines = [description or service.name]
    for attribute in service.ordered_attributes():
        if attribute.code in APPEAL_FIELDS or attribute.code not in typed:
            continue
        value = typed[attribute.code]
        names = {v.key: v.name for v in attribute.values}
        shown = (
            "、".join(names.get(str(v), str(v)) for v in value)
            if isinstance(value, list)
            else names.get(str(value), str(value))
        )
        lines.append(f"{attribute.description}: {shown}")
    return "\n".join(lines)[:MAX_TEXT]


# --- GET requests -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    ids: tuple[UUID, ...] | None = None
    codes: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    closed: bool | None = None


def query(params: Mapping[str, str], now: datetime) -> Query:
    """The filters of GET /requests. service_request_id overrides every other filter;
    otherwise the window defaults to the most recent 90 days and may not exceed 90."""
    ids = params.get("service_request_id") or None
    if ids is not None:
        return Query(ids=tuple(parsed for i in ids.split(",") if (parsed := request_id(i))))
    start = params.get("start_date") or None
    end = params.get("end_date") or None
    until = parse_datetime(end, "end_date") if end else None
    since = parse_datetime(start, "start_date") if start else None
    if since is None:
        since = (until or now) - MAX_WINDOW
    if until is None:
        until = min(now, since + MAX_WINDOW) if start else now
    if since > until:
        raise Open311Error.one(400, "start_date is after end_date")
    if until - since > MAX_WINDOW:
        raise Open311Error.one(400, "the window from start_date to end_date exceeds 90 days")
    closed: bool | None = None
    if status := params.get("status"):
        wanted = {s.strip() for s in status.split(",") if s.strip()}
        if not wanted or wanted - {"open", "closed"}:
            raise Open311Error.one(400, "status is open, closed or open,closed")
        closed = None if wanted == {"open", "closed"} else wanted == {"closed"}
    codes = params.get("service_code") or None
    return Query(
        codes=None if codes is None else tuple(c.strip() for c in codes.split(",") if c.strip()),
        since=since,
        until=until,
        closed=closed,
    )


def request_id(value: str) -> UUID | None:
    try:
        return UUID(value.strip())
    except ValueError:
        return None


STATUS_NOTES: Final = {
    "received": "已受理，待派单 Received, awaiting dispatch",
    "assigned": "已派单，待签收 Dispatched to the responsible department",
    "redo": "重办 Reopened for another round of handling",
    "in_progress": "已签收，办理中 Signed for and being handled",
    "handled": "已答复，待评价 Replied, awaiting the citizen's rating",
    "rated": "已评价 Rated by the citizen",
    "closed": "已办结 Closed",
}


def mask(text: str) -> str:
    """GET needs no key: mask mobile numbers and ID card numbers in public text."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def request_record(row: Mapping[str, Any], catalogue: Catalogue | None) -> dict[str, Any]:
    """One appeal (an intake `appeals` row) as an Open311 service request. No personal data:
    no names, no phone numbers."""
    received = row["received"]
    where = received.get("location") or {}
    service = catalogue.find(row["category"]) if catalogue else None
    extras = row.get("extras") or {}
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if row["status"] == "closed" else "open",
        "status_notes": STATUS_NOTES.get(row["status"], row["status"]),
        "service_name": service.name if service else row["category"],
        "service_code": row["category"],
        "description": mask(received["content"]),
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": format_datetime(row["received_at"]),
        "updated_datetime": format_datetime(row["status_at"]),
        "expected_datetime": None,
        "address": mask(where["address"]) if where.get("address") else None,
        "address_id": None,
        "zipcode": None,
        "lat": where.get("lat"),
        "long": where.get("long"),
        "media_url": extras.get("media_url"),
    }


def discovery(
    *, changeset: str, contact: str, key_service: str, url: str, production: bool
) -> dict[str, Any]:
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": changeset,
                "type": "production" if production else "test",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
