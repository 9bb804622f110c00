"""Open311's GET needs no key, so whatever it shows is public: mobile numbers and ID card
numbers in free text are masked. Pure."""

import re

_MOBILE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9])")


def mask(text: str) -> str:
    """Mobile numbers as 138****8000, ID card numbers as 110101********1234."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
