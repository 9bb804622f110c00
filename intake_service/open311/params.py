"""Open311 parameters: form bodies, datetimes, and the filters of the GET queries. Pure."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl
from uuid import UUID

from intake_service.open311.errors import Open311Error
from shared.workdays import HOTLINE_ZONE

MAX_WINDOW: Final = timedelta(days=90)
MAX_REQUESTS: Final = 1000

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")

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
    return value.astimezone(HOTLINE_ZONE).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Query:
    ids: tuple[UUID, ...] | None = None
    codes: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    closed: bool | None = None
    extensions: bool = False


def query(params: Mapping[str, str], now: datetime) -> Query:
    """The filters of GET /requests. service_request_id overrides every other filter;
    otherwise the window defaults to the most recent 90 days and may not exceed 90."""
    with_extensions = extensions(params)
    ids = params.get("service_request_id") or None
    if ids is not None:
        return Query(
            ids=tuple(parsed for i in ids.split(",") if (parsed := request_id(i))),
            extensions=with_extensions,
        )
    since, until = window(params, now)
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
        extensions=with_extensions,
    )


def window(params: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    """start_date..end_date, both inclusive: by default the most recent 90 days, never more."""
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
    return since, until


def extensions(params: Mapping[str, str]) -> bool:
    """`extensions=true` adds the update history (notes) and the extended status."""
    value = (params.get("extensions") or "false").lower()
    if value not in ("true", "false"):
        raise Open311Error.one(400, "extensions is true or false")
    return value == "true"


def request_id(value: str) -> UUID | None:
    try:
        return UUID(value.strip())
    except ValueError:
        return None
