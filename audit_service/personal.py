"""Opening citizens' sealed data for auditors. The keys are asked of intake per request
and never kept beyond it (nor, within a long one, beyond KEY_SECONDS), so an erased
citizen's data shows as erased here too.

With `audit:personal-data` the sealed `personal_data` and the citizen's sealed words (an
appeal's content, a rating's or callback's comment) are shown in clear (or erased); without
it the words are opened only to be masked (numbers, and the citizen's own name, which is
opened in memory for that and never shown), and `personal_data` stays sealed."""

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from audit_service.domain import mask_personal_data
from audit_service.settings import AuditSettings
from shared.personal_data import Sealed, reveal, reveal_text
from shared.runtime.citizen_keys import KeyClient, KeyUnavailable
from shared.runtime.problems import Problem

Keys = Mapping[UUID, bytes | None]
# Sealed free text → the field it reads as in clear (older facts have only the latter).
SEALED_TEXT: dict[str, str] = {"sealed_content": "content", "sealed_comment": "comment"}


def _sealed(data: Mapping[str, Any], field: str) -> Sealed | None:
    value = data.get(field)
    if isinstance(value, dict) and "ciphertext" in value:
        return Sealed.model_validate(value)
    return None


def key_ids(datas: Iterable[Mapping[str, Any]]) -> set[UUID]:
    return {
        sealed.key_id
        for data in datas
        for field in ("personal_data", *SEALED_TEXT)
        if (sealed := _sealed(data, field)) is not None
    }


# How long one request keeps a key it was given: an export streams for as long as its client
# reads, and an erasure meanwhile must stop it opening that citizen's data within this.
KEY_SECONDS = 30.0


class KeyCache:
    """The keys one request needs (an export may span many citizens), asked once each and
    kept KEY_SECONDS at most: then asked again, so an erasure reaches a long export too,
    and a streamed export does not end up holding every citizen's key."""

    def __init__(self, settings: AuditSettings, *, clock: Callable[[], float] = time.monotonic):
        self._client = KeyClient(
            settings, intake_url=settings.intake_url, token=settings.personal_data_keys_token
        )
        self._clock = clock
        self._keys: dict[UUID, bytes | None] = {}
        self._asked: dict[UUID, float] = {}  # when each key was given, oldest first

    async def keys(self, datas: Iterable[Mapping[str, Any]], *, also: Iterable[UUID] = ()) -> Keys:
        """The keys of the sealed data in `datas`, and the keys `also` named."""
        now = self._clock()
        while self._asked:  # oldest first: drop what is too old to use
            key_id, asked = next(iter(self._asked.items()))
            if now - asked < KEY_SECONDS:
                break
            del self._asked[key_id], self._keys[key_id]
        missing = (key_ids(datas) | set(also)) - self._keys.keys()
        try:
            given = await self._client.keys(missing)
        except KeyUnavailable as exc:
            raise Problem(503, "Service Unavailable", f"citizens' keys: {exc}") from None
        self._keys |= given
        self._asked |= dict.fromkeys(given, now)
        return self._keys


def _with_text(data: dict[str, Any], keys: Keys) -> dict[str, Any]:
    for sealed_field, field in SEALED_TEXT.items():
        text = _sealed(data, sealed_field)
        if text is not None:
            key = keys.get(text.key_id)
            data = {
                **data,
                field: reveal_text(None, text, key),
                sealed_field: {"state": "erased" if key is None else "shown"},
            }
    return data


def opened(datas: list[dict[str, Any]], keys: Keys) -> list[dict[str, Any]]:
    """Facts' data with the sealed personal data and content in clear (or erased), each
    with its state: for `audit:personal-data` only."""
    shown = []
    for data in datas:
        data = _with_text(data, keys)
        sealed = _sealed(data, "personal_data")
        if sealed is not None:
            found, state = reveal(sealed, keys.get(sealed.key_id))
            data = {**data, "personal_data": {**found.model_dump(), "state": state}}
        shown.append(data)
    return shown


def masked(
    datas: list[dict[str, Any]],
    keys: Keys,
    known: dict[UUID, str | None] | None = None,
    citizen: Iterable[UUID] = (),
) -> list[dict[str, Any]]:
    """Facts' data as an auditor without `audit:personal-data` sees them: the content and
    comments opened and masked, the citizen's name masked wherever it is written; once the
    citizen is erased, their name is gone, so every text is withheld. `known`: the names met
    so far by key (None: erased); `citizen`: the keys of the appeal the facts belong to, met
    in its earlier facts (an export reaches a department's reply rows after its receipt)."""
    names = [d["citizen"].get("name") for d in datas if isinstance(d.get("citizen"), dict)]
    known = {} if known is None else known
    for data in datas:
        sealed = _sealed(data, "personal_data")
        if sealed is not None:
            key = keys.get(sealed.key_id)
            known[sealed.key_id] = None if key is None else reveal(sealed, key)[0].name
    held = key_ids(datas) | set(citizen)
    names += [known.get(k) for k in held]
    erased = any(keys.get(k) is None for k in held)
    return [mask_personal_data(_with_text(d, keys), names=names, erased=erased) for d in datas]
