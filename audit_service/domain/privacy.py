"""What an auditor without `audit:personal-data` sees of a fact's data. Pure.

Masked: the citizen's name, phone and ID card; addresses (cut to their first characters);
coordinates (dropped); staff names (`person`: who signed for, who is responsible); and in
every other text, numbers however written (shared.masking) and the citizen's own name.
Once the citizen's data is erased their name is gone, so it cannot be found in what staff
wrote: every text is then withheld whole, leaving codes, ids and times.
"""

import re
from collections.abc import Iterable
from typing import Any, Final

from shared import masking

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
STAFF_KEYS: Final = frozenset({"person"})  # who signed for, who is responsible
COORDINATE_KEYS: Final = frozenset({"lat", "long"})
ADDRESS_SHOWN: Final = 3  # an address keeps its first characters (the road, not the door)
# What no name can hide in: a code (`water.outage`), a number, a time. Anything else is text.
_NOT_TEXT = re.compile(r"^[a-z0-9][a-z0-9._:-]*$|^[0-9T:.+-]+Z?$")


def mask_personal_data(
    data: dict[str, Any], *, names: Iterable[str | None] = (), erased: bool = False
) -> dict[str, Any]:
    """A fact's data as an auditor without the personal-data scope sees it: the citizen's
    name, phone and ID card masked; addresses cut to their first characters; coordinates
    dropped; staff names (`person`) masked; and in every other text, numbers however written
    and the citizen's name (from this fact, and any `names` known from the appeal's others).
    `erased`: the citizen's name can no longer be known, so every text is withheld whole."""
    citizen = data.get("citizen")
    known = [*names, citizen.get("name") if isinstance(citizen, dict) else None]
    masked = _masked(data, known, erased=erased)
    assert isinstance(masked, dict)
    return masked


def citizen_names(facts: Iterable[dict[str, Any]]) -> list[str]:
    """The citizens' names the facts' data carry (an appeal.received names its citizen)."""
    found = [(data.get("citizen") or {}).get("name") for data in facts]
    return [name for name in found if isinstance(name, str) and name]


def _masked(value: Any, names: list[str | None], key: str | None = None, *, erased: bool) -> Any:
    if isinstance(value, dict):
        if "ciphertext" in value:  # sealed: nothing in it is in clear
            return value
        if key == "citizen":
            return _citizen(value, names, erased=erased)
        return {k: _masked(v, names, k, erased=erased) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, names, erased=erased) for v in value]
    if key in COORDINATE_KEYS:
        return None
    if not isinstance(value, str) or _UUID.match(value):
        return value
    if key == "address":
        return value[:ADDRESS_SHOWN] + "*" * max(0, len(value) - ADDRESS_SHOWN)
    if key in STAFF_KEYS:
        return masking.mask_name(value)
    if erased and not _NOT_TEXT.match(value):
        return "*" * len(value)
    return masking.mask(value, names=names)


def _citizen(citizen: dict[str, Any], names: list[str | None], *, erased: bool) -> dict[str, Any]:
    name, phone = citizen.get("name"), citizen.get("phone")
    masked = {
        **{k: _masked(v, names, k, erased=erased) for k, v in citizen.items()},
        "name": masking.mask_name(name) if isinstance(name, str) and name else name,
        "phone": f"{phone[:3]}****{phone[-4:]}"
        if isinstance(phone, str) and len(phone) > 7
        else phone,
    }
    if id_number := citizen.get("id_number"):  # identity card: region code and check digits
        masked["id_number"] = f"{id_number[:6]}********{id_number[-4:]}"
    return masked
