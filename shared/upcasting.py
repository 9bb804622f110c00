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


# (event type, from version) → step to from version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("appeal.rated", 1): _rated_v1_to_v2,
    ("appeal.received", 1): _received_v1_to_v2,
}


class UnknownSchemaVersionError(ValueError):
    pass


def upcast(event_type: str, version: int, data: Payload, *, current: int) -> Payload:
    if version > current:
        raise UnknownSchemaVersionError(f"{event_type} v{version} is newer than v{current}")
    while version < current:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownSchemaVersionError(f"no upcaster for {event_type} v{version}")
        data = step(data)
        version += 1
    return data
