"""Citizens' personal data in facts: sealed with a data key per citizen, so destroying the key
erases the data everywhere the fact was copied (crypto-shredding) while the fact's bytes, and
so every hash chain over them, stay as they were.

Data keys are AES-256-GCM keys; the key's id is the associated data, so a blob sealed for
one citizen cannot be passed off under another's key. Intake is the only service that keeps
keys, wrapped by its key-encryption key (KEK); they never travel through Kafka. Phones are
found by a blind index (an HMAC of the normalised number), never by the number itself.
"""

import base64
import binascii
import hashlib
import hmac
import math
import os
import re
from typing import Final, Literal
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field, ValidationError

KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
# For development and tests only; settings refuse them in any other environment.
DEV_KEK: Final = base64.b64encode(b"hotline-development-kek-32-bytes").decode()
DEV_INDEX_KEY: Final = "hotline-development-blind-index-key-do-not-use-in-production"
_B64: Final = r"^[A-Za-z0-9+/]+={0,2}$"


class PersonalData(BaseModel):
    """What identifies the citizen in an appeal: sealed in facts, never stored in clear."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=21)
    id_number: str | None = Field(default=None, max_length=18)
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)

    def is_empty(self) -> bool:
        return all(value is None for value in self.model_dump().values())


class Sealed(BaseModel):
    """Personal data encrypted under the citizen's data key `key_id` (AES-256-GCM)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    alg: Literal["A256GCM"] = "A256GCM"
    key_id: UUID
    nonce: str = Field(min_length=16, max_length=16, pattern=_B64)
    # up to 4,000 characters of text at 4 bytes each, the tag, in base64
    ciphertext: str = Field(min_length=4, max_length=22000, pattern=_B64)


class UnsealError(ValueError):
    """The key does not open the blob: the wrong key, or the blob was altered."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


def seal(key: bytes, key_id: UUID, data: PersonalData) -> Sealed:
    nonce = os.urandom(_NONCE_BYTES)
    plaintext = data.model_dump_json(exclude_none=True).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, key_id.bytes)
    return Sealed(key_id=key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def unseal(key: bytes, sealed: Sealed) -> PersonalData:
    try:
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), sealed.key_id.bytes
        )
        return PersonalData.model_validate_json(plaintext)
    except (InvalidTag, ValueError, ValidationError):
        raise UnsealError(f"cannot open personal data under key {sealed.key_id}") from None


# Free text (an appeal's content) is sealed apart from the fields above, under the same key
# with its own associated data, so a service that needs the text (a department's view)
# opens only the text, and neither blob can be passed off as the other.
_TEXT_AAD: Final = b"|text"


def seal_text(key: bytes, key_id: UUID, text: str) -> Sealed:
    """Free text a citizen wrote, which may name them or give their number: sealed under
    their key, so erasure erases it too."""
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, text.encode(), key_id.bytes + _TEXT_AAD)
    return Sealed(key_id=key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


def unseal_text(key: bytes, sealed: Sealed) -> str:
    try:
        return (
            AESGCM(key)
            .decrypt(
                base64.b64decode(sealed.nonce),
                base64.b64decode(sealed.ciphertext),
                sealed.key_id.bytes + _TEXT_AAD,
            )
            .decode()
        )
    except (InvalidTag, ValueError):
        raise UnsealError(f"cannot open text under key {sealed.key_id}") from None


def reveal_text(text: str | None, sealed: Sealed | None, key: bytes | None) -> str | None:
    """Free text as a view shows it: in clear with its key (or as recorded before sealing),
    None once the key is destroyed."""
    if sealed is None:
        return text
    return None if key is None else unseal_text(key, sealed)


class Kek:
    """The key-encryption key: wraps data keys for storage (AES-256-GCM, key id as AAD)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a KEK is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, value: str) -> "Kek":
        try:
            return cls(base64.b64decode(value.strip(), validate=True))
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"a KEK is {KEY_BYTES} bytes in base64") from exc

    def wrap(self, key_id: UUID, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, key_id.bytes)

    def unwrap(self, key_id: UUID, wrapped: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], key_id.bytes)
        except InvalidTag:
            raise UnsealError(f"the KEK does not unwrap key {key_id}") from None


CELL_DEGREES: Final = 0.005  # about 550 m north-south, 430 m east-west at Beijing


def coarse(degrees: float | None) -> float | None:
    """A coordinate floored to the grid (the cell's south-west corner): where, to a few
    hundred metres, without the exact point."""
    if degrees is None:
        return None
    return round(math.floor(degrees / CELL_DEGREES) * CELL_DEGREES, 3)


def normalise_phone(phone: str) -> str:
    """The number as digits only, without China's country code: `+86 138-0013-8000`,
    `008613800138000` and `13800138000` are one citizen."""
    digits = re.sub(r"\D", "", phone)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def blind_index(secret: bytes, value: str) -> str:
    """A keyed hash to find equal values by, which reveals nothing without the secret."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def phone_index(secret: bytes, phone: str) -> str:
    return blind_index(secret, "phone:" + normalise_phone(phone))


def address_index(secret: bytes, address: str) -> str:
    return blind_index(secret, "address:" + " ".join(address.split()).casefold())


Status = Literal["shown", "erased", "none"]


def reveal(sealed: Sealed | PersonalData | None, key: bytes | None) -> tuple[PersonalData, Status]:
    """The personal data as a view shows it, with what became of it: in clear with its key,
    empty and `erased` once the key is destroyed (`key` None). A fact recorded before sealing
    (schema v1) carries `PersonalData` in clear and shows as it was."""
    if sealed is None:
        return PersonalData(), "none"
    if isinstance(sealed, PersonalData):
        return sealed, "shown"
    if key is None:
        return PersonalData(), "erased"
    return unseal(key, sealed), "shown"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
