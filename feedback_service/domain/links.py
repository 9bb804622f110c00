"""Single-use rating links: a citizen rates through their own channel instead of a call.

A link carries its appeal, round, expiry and a nonce, signed with HMAC-SHA256 under the
service's secret: `<payload>.<signature>`, both base64url without padding. Pure: the secret
and the time are arguments; that the nonce is used only once is the store's part.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID


class LinkError(Exception):
    """Why a link is refused: `invalid` (malformed or forged) or `expired`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class LinkClaims:
    appeal_id: UUID
    round: int
    expires_at: datetime
    nonce: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def sign(secret: bytes, claims: LinkClaims) -> str:
    body = {
        "a": str(claims.appeal_id),
        "r": claims.round,
        "e": int(claims.expires_at.timestamp()),
        "n": claims.nonce,
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_signature(secret, payload)}"


def verify(secret: bytes, token: str, *, now: datetime) -> LinkClaims:
    """The link's claims if its signature holds and it has not expired."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise LinkError("invalid", "the rating link is malformed")
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise LinkError("invalid", "the rating link's signature does not match")
    try:
        body = json.loads(_unb64(payload))
        claims = LinkClaims(
            UUID(body["a"]),
            int(body["r"]),
            datetime.fromtimestamp(int(body["e"]), UTC),
            str(body["n"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkError("invalid", "the rating link is malformed") from exc
    if now >= claims.expires_at:
        raise LinkError("expired", f"the rating link expired at {claims.expires_at.isoformat()}")
    return claims
