"""Standard Webhooks signatures (https://www.standardwebhooks.com): every notification is an
HTTP POST with `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, the
signature being `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` under the
subscription's secret (`whsec_<base64 key>`). Pure: keys, ids and times are arguments. What
a receiver checks is its own business (tests/unit/test_webhooks.py writes one)."""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
