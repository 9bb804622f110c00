"""Upcasters turn an old payload into the current schema on read, one version step at a time.

Stored and published facts are never rewritten: a reader that meets `schema_version` n
applies the steps n → n+1 → … until it reaches the model's current version.
"""

from collections.abc import Callable
from typing import Any

from shared.personal_data import coarse

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def _rated_v1_to_v2(data: Payload) -> Payload:
    # v1 recorded only a yes/no; "yes" was the top grade and "no" the bottom one.
    upgraded = {k: v for k, v in data.items() if k != "satisfied"}
    upgraded["satisfaction"] = "satisfied" if data["satisfied"] else "dissatisfied"
    return upgraded


def _deadlines_v1_to_v2(data: Payload) -> Payload:
    # v1 deadlines did not say whether a year without a published arrangement stood in with
    # weekdays. Every v1 fact was computed on chinese-calendar 1.11.0 (covering 2004-2026)
    # with deadlines before 2027, so none was provisional.
    return {**data, "deadlines": {**data["deadlines"], "provisional_years": []}}


def _reviewed_v1_to_v2(data: Payload) -> Payload:
    # v1 did not record the calendar or the window's close (then approval + the configured
    # window hours, which feedback's read model kept): unknown, not invented.
    return {**data, "rating_closes_at": None, "calendar": None}


def _not_asked_about_fault(data: Payload) -> Payload:
    # Before v3 (ratings) and v2 (callbacks) nobody asked whether the department was at
    # fault: unknown, not "no".
    return {**data, "department_at_fault": None}


_PERSONAL: dict[str, tuple[str, ...]] = {
    "citizen": ("name", "phone", "id_number"),
    "location": ("address", "lat", "long"),
}


def _received_v1_to_v2(data: Payload) -> Payload:
    # v1 carried the citizen's name, phone, ID number, address and coordinates in clear; v2
    # seals them. An old fact cannot be sealed after the fact (its hash covers its bytes), so
    # it reads with `personal_data` in clear, split off the traits that stay in clear.
    upgraded = dict(data)
    personal: Payload = {}
    for part, fields in _PERSONAL.items():
        kept = dict(data.get(part) or {})
        for name in fields:
            if (value := kept.pop(name, None)) is not None:
                personal[name] = value
        upgraded[part] = kept
    # v2 keeps the grid cell in clear, for hot spots
    upgraded["location"] |= {a: coarse(personal.get(a)) for a in ("lat", "long")}
    upgraded["personal_data"] = personal or None
    return upgraded


def _round_goes_on(data: Payload) -> Payload:
    # Before v3 a redispatch never began a round of its own.
    return {**data, "round": None}


def _content_in_clear(data: Payload) -> Payload:
    # v2 carried the content in clear; v3 seals it as `sealed_content`. An old fact keeps
    # its bytes (and so its hash), so it reads with its content in clear.
    return {**data, "sealed_content": None}


def _comment_in_clear(data: Payload) -> Payload:
    # Before appeal.rated v4 and appeal.callback_made v3 the citizen's comment was in clear;
    # since then it is sealed as `sealed_comment`. Old facts read with it in clear.
    return {**data, "sealed_comment": None}


# (event type, from version) → step to from version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("appeal.rated", 1): _rated_v1_to_v2,
    ("appeal.assigned", 1): _deadlines_v1_to_v2,
    ("appeal.redispatched", 1): _deadlines_v1_to_v2,
    ("appeal.redispatched", 2): _round_goes_on,
    ("appeal.extension_approved", 1): _deadlines_v1_to_v2,
    ("appeal.redo_ordered", 1): _deadlines_v1_to_v2,
    ("appeal.reply_reviewed", 1): _reviewed_v1_to_v2,
    ("appeal.rated", 2): _not_asked_about_fault,
    ("appeal.callback_made", 1): _not_asked_about_fault,
    ("appeal.rated", 3): _comment_in_clear,
    ("appeal.callback_made", 2): _comment_in_clear,
    ("appeal.received", 1): _received_v1_to_v2,
    ("appeal.received", 2): _content_in_clear,
}


class UpcastError(ValueError):
    """The payload cannot be read in its event type's current schema."""


class UnknownSchemaVersionError(UpcastError):
    pass


def upcast(event_type: str, version: int, data: Payload, *, current: int) -> Payload:
    if version > current:
        raise UnknownSchemaVersionError(f"{event_type} v{version} is newer than v{current}")
    while version < current:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownSchemaVersionError(f"no upcaster for {event_type} v{version}")
        try:
            data = step(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Not the payload of the version it claims (a field missing or of another type).
            raise UpcastError(f"{event_type} v{version} is not that version's payload") from exc
        version += 1
    return data
