"""intake as the key authority: each citizen's data key (one per phone number, or one per
appeal for a caller without one), sealing what identifies them when an appeal is filed, and
showing it again to those who may see it, or as erased once the key is gone."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict
from uuid import UUID, uuid4

from intake_service.domain import NewAppeal
from intake_service.settings import IntakeSettings
from intake_service.store import keys as store
from shared import events, upcasting
from shared.personal_data import (
    Kek,
    PersonalData,
    Sealed,
    address_index,
    new_data_key,
    phone_index,
    reveal,
    reveal_text,
    seal,
    seal_text,
)
from shared.runtime.eventstore import Tx


@dataclass(frozen=True, slots=True)
class Keyring:
    kek: Kek
    index_key: bytes

    @classmethod
    def of(cls, settings: IntakeSettings) -> "Keyring":
        return cls(settings.kek(), settings.index_key())


@dataclass(frozen=True, slots=True)
class Sealing:
    """What filing records of the citizen: the sealed data and text, and the blind indexes."""

    personal_data: Sealed | None
    content: Sealed
    phone_index: str | None
    address_index: str | None

    def indexes(self) -> "Indexes":
        return {"phone_index": self.phone_index, "address_index": self.address_index}


class Indexes(TypedDict):
    phone_index: str | None
    address_index: str | None


async def seal_citizen(tx: Tx, keyring: Keyring, appeal: NewAppeal, *, now: datetime) -> Sealing:
    citizen, location = appeal.citizen, appeal.location
    data = PersonalData(
        name=citizen.name,
        phone=citizen.phone,
        id_number=citizen.id_number,
        address=location.address,
        lat=location.lat,
        long=location.long,
    )
    phone = phone_index(keyring.index_key, citizen.phone) if citizen.phone else None
    address = address_index(keyring.index_key, location.address) if location.address else None
    # Every appeal has a key: its content is sealed even when the caller gave nothing else.
    key_id, key = await _citizen_key(tx, keyring, phone, now)
    sealed = None if data.is_empty() else seal(key, key_id, data)
    return Sealing(sealed, seal_text(key, key_id, appeal.content), phone, address)


async def _citizen_key(
    tx: Tx, keyring: Keyring, phone: str | None, now: datetime
) -> tuple[UUID, bytes]:
    """The living key of the phone's citizen, or a new one."""
    key_id, key = uuid4(), new_data_key()
    wrapped = keyring.kek.wrap(key_id, key)
    if phone is not None:
        # Found or added in one statement: the new key is made up front (microseconds),
        # a round trip is not.
        found = await store.key_for_phone(tx, phone, key_id, wrapped, now=now)
        if found is not None:
            return (key_id, key) if found[0] == key_id else (found[0], keyring.kek.unwrap(*found))
    elif await store.add_key(tx, key_id, wrapped, phone_index=None, now=now):
        return key_id, key
    # A concurrent filing from the same phone created its key first (the insert waited for
    # it to commit): that key is the citizen's.
    assert phone is not None
    found = await store.key_by_phone(tx, phone)
    if found is None:  # erased in the meantime: the new appeal starts a new key
        raise RuntimeError("the citizen's key was erased while filing; retry")
    return found[0], keyring.kek.unwrap(*found)


async def data_keys(tx: Tx, keyring: Keyring, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
    """The living data keys among `key_ids`, unwrapped; erased (and unknown) ones are absent."""
    wrapped = await store.wrapped_keys(tx, key_ids)
    return {k: keyring.kek.unwrap(k, w) for k, w in wrapped.items() if w is not None}


def received_current(received: Mapping[str, Any]) -> dict[str, Any]:
    """A read model's `received` in the current shape (rows from before sealing hold v1,
    rows from before the content was sealed v2)."""
    version = 3 if "sealed_content" in received else 2 if "personal_data" in received else 1
    return upcasting.upcast(
        "appeal.received",
        version,
        dict(received),
        current=events.AppealReceived.schema_version,
    )


def _sealed(value: Any) -> Sealed | PersonalData | None:
    if value is None:
        return None
    if "ciphertext" in value:
        return Sealed.model_validate(value)
    return PersonalData.model_validate(value)


def revealed(
    received: Mapping[str, Any], keys: Mapping[UUID, bytes], *, erased: bool = False
) -> dict[str, Any]:
    """`received` as views and Open311 read it: `citizen` and `location` whole again, in
    clear with the citizen's key, empty once it is erased, and `personal_data` saying which
    (shown, erased, none); `content` in clear, None once erased. In memory only: never
    written back."""
    current = received_current(received)
    sealed = _sealed(current.get("personal_data"))
    key = keys.get(sealed.key_id) if isinstance(sealed, Sealed) else None
    data, status = reveal(sealed, key)
    text = _sealed_text(current)
    content = reveal_text(current.get("content"), text, keys.get(text.key_id) if text else None)
    if erased:
        data, status, content = PersonalData(), "erased", None
    elif content is None and status == "none":
        status = "erased"  # nothing but the content was given, and it is gone
    return {
        **current,
        "content": content,
        "citizen": {
            **current["citizen"],
            **data.model_dump(include={"name", "phone", "id_number"}),
        },
        "location": {**current["location"], **data.model_dump(include={"address", "lat", "long"})},
        "personal_data": status,
    }


def _sealed_text(received: Mapping[str, Any]) -> Sealed | None:
    value = received.get("sealed_content")
    return None if value is None else Sealed.model_validate(value)


def key_of(received: Mapping[str, Any]) -> UUID | None:
    current = received_current(received)
    sealed = _sealed(current.get("personal_data"))
    if isinstance(sealed, Sealed):
        return sealed.key_id
    text = _sealed_text(current)
    return None if text is None else text.key_id


async def revealed_rows(
    tx: Tx, keyring: Keyring, rows: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Appeal rows with `received` revealed (see `revealed`), for one page of a view."""
    listed = list(rows)
    keys = await data_keys(tx, keyring, (r["key_id"] for r in listed if r.get("key_id")))
    return [
        {
            **r,
            "received": revealed(
                r["received"], keys, erased=r.get("personal_data_erased_at") is not None
            ),
        }
        for r in listed
    ]


def blanked(received: Mapping[str, Any]) -> dict[str, Any]:
    """`received` with no personal data in clear: what an erased row keeps. A sealed blob
    stays (unreadable without its key, like the fact it came from); content recorded in
    clear (v1, v2) is dropped from the row (the fact itself keeps it: docs/privacy.md)."""
    current = received_current(received)
    if isinstance(_sealed(current.get("personal_data")), PersonalData):
        current["personal_data"] = None
    if current.get("content") is not None:
        current["content"] = None
    return current
