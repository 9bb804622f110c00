"""A POSTed Open311 service request becomes an appeal: attributes typed and checked against
the service definition, the location rules, the citizen. Pure."""

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError

from intake_service import domain
from intake_service.catalogue import LIST_TYPES, Attribute, Service
from intake_service.open311.errors import Failure, Open311Error
from intake_service.open311.params import Form, parse_datetime, single
from intake_service.routes.requests import AppealBody
from shared import events

MAX_TEXT: Final = 4000
# Attribute codes that fill the appeal's own fields instead of its text.
APPEAL_FIELDS: Final = frozenset({"appeal_type", "urgency", "district"})
DEFAULT_APPEAL_TYPE: Final = "complaint"

_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


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
        try:  # validated: a catalogue's district key is the operator's, not a known code
            where = type(where).model_validate({**where.model_dump(), "district": district})
        except ValidationError:
            raise Open311Error.one(
                400, f"attribute[district] {district!r} is not a district code"
            ) from None
    name = " ".join(n for n in (single(form, "last_name"), single(form, "first_name")) if n)
    phone = single(form, "phone")
    try:
        citizen = events.Citizen(name=name or None, phone=phone, anonymous=not (name or phone))
    except ValidationError:
        raise Open311Error.one(
            400, "phone must be digits (5 to 20), optionally with + and -"
        ) from None
    try:
        appeal = AppealBody(
            channel="open311",
            appeal_type=typed.get("appeal_type", DEFAULT_APPEAL_TYPE),
            category=service.code,
            urgency=typed.get("urgency", "normal"),
            content=content(service, description, typed),
            citizen=citizen,
            location=where,
        ).appeal()
    except ValidationError as exc:
        raise Open311Error.one(
            400, f"the request cannot be filed: {exc.errors()[0]['msg']}"
        ) from None
    # Only the coded answers stay beside the appeal in clear: what the citizen typed
    # (string and text attributes) is in the content, sealed under their key.
    coded = {a.code for a in service.ordered_attributes() if a.datatype in LIST_TYPES}
    extras: dict[str, Any] = {
        "attributes": {code: value for code, value in typed.items() if code in coded},
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
