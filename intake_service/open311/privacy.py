"""Open311's GET needs no key, so whatever it shows is public. Pure.

What may be published at all (`may_publish`): never a report (whistle-blowing), never an
anonymous appeal, and only with the citizen's consent. Consent is required on the hotline's
own channels (phone, web, app, wechat, partner): the citizen says yes with
`citizen.public_consent=true`, and an appeal filed before the field existed (no answer) stays
private. A request filed through Open311 is filed into a public system by the GeoReport
specification itself (the partner's terms say so), so there no answer means yes; an explicit
`public_consent=false` still keeps it private.

What is published is masked (`mask`, shared.masking): mobile and landline numbers however
they are written (spaces, hyphens, dots, +86 / 0086 prefixes, area codes in brackets,
full-width digits), ID card numbers (18 characters with X, and the old 15 digits), any other
run of seven or more digits, and the citizen's own name. An address keeps its road, not the
door: what comes before its first number (`新华路88弄5号楼1201室` → `新华路`). Coordinates are
rounded to 3 decimals (about 110 m).
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from shared import masking

# Channels where filing is itself publishing; elsewhere the citizen must say yes.
IMPLIED_CONSENT_CHANNELS: Final = frozenset({"open311"})
NEVER_PUBLIC_TYPES: Final = frozenset({"report"})
COORDINATE_DECIMALS: Final = 3  # 0.001° of latitude is about 111 m
_DOOR = re.compile(r"[0-9０-９]")  # a house, building, unit or room number starts the door


def may_publish(*, appeal_type: str, channel: str, citizen: Mapping[str, Any]) -> bool:
    if appeal_type in NEVER_PUBLIC_TYPES or citizen.get("anonymous") is not False:
        return False
    consent = citizen.get("public_consent")
    if consent is None:
        return channel in IMPLIED_CONSENT_CHANNELS
    return consent is True


def mask(text: str, *, names: Iterable[str | None] = ()) -> str:
    """Numbers however written, ID cards and the citizen's name (shared.masking)."""
    return masking.mask(text, names=names)


def coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


def road(address: str, *, names: Iterable[str | None] = ()) -> str | None:
    """The address up to its first number (the road, the estate), masked; None if it starts
    with one: a door number alone says nothing public."""
    kept = _DOOR.split(address, maxsplit=1)[0].strip(" ,，")
    return mask(kept, names=names) if kept else None
