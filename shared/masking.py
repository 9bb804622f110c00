"""Masking personal data in free text, for whatever shows text beyond the roles that need
it: the public Open311 feeds, audit without `audit:personal-data`, the logs. Pure.

Masked: mobile and landline numbers however they are written (spaces, hyphens, dots, +86 /
0086 prefixes, area codes in brackets, full-width digits), ID card numbers (18 characters
with X, and the old 15 digits), any other run of seven or more digits, and given names.
"""

import re
from collections.abc import Iterable

_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－（）　．", "0123456789+-() .")
_SEP = r"[ \t.\-]?"
_PREFIX = r"(?:(?:\+|00) ?86|\(\+?86\))[ \-]?"
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})[ \-]?\d{8}[ \-]?(\d{3}[\dXx])(?![0-9A-Za-z])"
    r"|(?<![0-9A-Za-z])(\d{6})\d{6}(\d{3})(?![0-9A-Za-z])"
)
_MOBILE = re.compile(rf"(?<!\d)({_PREFIX})?(1[3-9]\d){_SEP}\d{{4}}{_SEP}(\d{{4}})(?!\d)")
# Area code (010, 021, 0755…; without its 0 after +86) then 7 or 8 digits, maybe grouped.
_LANDLINE = re.compile(
    rf"(?<!\d)(?:{_PREFIX}\(?0?(\d{{2,3}})\)?|\(0(\d{{2,3}})\)|0(\d{{2,3}}))"
    rf"[ \-]?\d{{3,4}}{_SEP}(\d{{4}})(?!\d)"
)
# Whatever number is left: seven or more digits in groups of three or more (so dates such as
# 2024-05-01, times and amounts stay readable).
_LONG_NUMBER = re.compile(r"(?<![\d*])\d{3,}(?:[ \-]\d{3,})*(?![\d*])")


def _id_card(match: re.Match[str]) -> str:
    head, tail = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
    return f"{head}{'*' * 8}{tail}"


def _landline(match: re.Match[str]) -> str:
    area = next(group for group in match.group(1, 2, 3) if group)
    return f"0{area}-****{match.group(4)}"


def _long_number(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return match.group(0) if len(digits) < 7 else "*" * (len(digits) - 2) + digits[-2:]


def _name_parts(names: Iterable[str | None]) -> list[str]:
    """Each name, and each of its space-separated parts of two characters or more (Open311
    files `last_name first_name`), longest first so a full name goes before its parts."""
    found: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            continue
        found.add(name.strip())
        found.update(part for part in name.split() if len(part) >= 2)
    return sorted(found, key=len, reverse=True)


def mask_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1)


def numbers(text: str) -> str:
    """Mobiles as 138****8000, landlines as 010-****5678, ID cards as 110101********1234,
    other long numbers as ******78."""
    text = _ID_CARD.sub(_id_card, text.translate(_FULL_WIDTH))
    text = _MOBILE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(3)}", text)
    text = _LANDLINE.sub(_landline, text)
    return _LONG_NUMBER.sub(_long_number, text)


def mask(text: str, *, names: Iterable[str | None] = ()) -> str:
    """Numbers as `numbers` masks them, and the given names as 张**."""
    text = text.translate(_FULL_WIDTH)
    for name in _name_parts(names):
        text = text.replace(name, mask_name(name))
    return numbers(text)
