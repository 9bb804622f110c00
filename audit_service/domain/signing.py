"""Signed checkpoints: what audit signs, in which bytes, and how anyone checks it. Pure.

A signed checkpoint says "the first `size` facts audit recorded have this Merkle root, as of
this time, signed with this key". The signature is Ed25519 (RFC 8032) over the statement's
canonical bytes, five lines each ending in a line feed (docs/receipts.md writes it out):

    hotline-audit-checkpoint/v1
    size 1234
    root <64 lowercase hex digits>
    time 2026-05-01T08:00:00Z
    key <key id: the first 16 hex digits of SHA-256 over the 32-byte raw public key>
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "hotline-audit-checkpoint/v1"
ALGORITHM = "Ed25519"
# Anyone can derive this key from the code: it signs only where HOTLINE_ENVIRONMENT is
# development or test, and settings refuse it anywhere else, even when given explicitly.
DEVELOPMENT_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"hotline development checkpoint key: never for production").digest()
)


@dataclass(frozen=True)
class Statement:
    size: int
    root: str  # hex
    time: datetime  # whole seconds, UTC
    key_id: str

    def canonical(self) -> bytes:
        return (
            f"{HEADER}\nsize {self.size}\nroot {self.root}\n"
            f"time {format_time(self.time)}\nkey {self.key_id}\n"
        ).encode()


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def is_development_key(key: Ed25519PrivateKey) -> bool:
    return raw_public(key.public_key()) == raw_public(DEVELOPMENT_KEY.public_key())


def sign(key: Ed25519PrivateKey, *, size: int, root: str, now: datetime) -> tuple[Statement, str]:
    """The statement for a tree of `size` with `root`, and its signature (hex)."""
    moment = now.astimezone(UTC).replace(microsecond=0)
    statement = Statement(size, root, moment, key_id(key.public_key()))
    return statement, key.sign(statement.canonical()).hex()


def verify(key: Ed25519PublicKey, statement: Statement, signature: str) -> bool:
    """True only for this key's signature over exactly this statement."""
    if statement.key_id != key_id(key):
        return False
    try:
        key.verify(bytes.fromhex(signature), statement.canonical())
    except (InvalidSignature, ValueError):
        return False
    return True


def private_from_pem(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the checkpoint signing key must be an Ed25519 private key (PEM)")
    return key


def public_from_pem(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key (PEM)")
    return key


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """RFC 8037's JSON Web Key form of the public key."""
    x = base64.urlsafe_b64encode(raw_public(key)).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id(key), "use": "sig"}
