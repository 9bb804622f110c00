"""Fetching a citizen's data key from intake, the only service that keeps them, to open
sealed personal data once (feedback: the phone, to notify; audit: for `audit:personal-data`).
Keys are never stored here: erasure at intake is erasure everywhere.

The call carries a bearer token with scope `personal-data:keys`: the one configured (a token
the city's identity provider issued to this service), or, where the services share an HMAC
signing key, one minted for a minute.
"""

import base64
from uuid import UUID

import httpx
from pydantic import SecretStr

from shared.runtime import auth
from shared.runtime.settings import ServiceSettings

SCOPE = "personal-data:keys"
_TIMEOUT = httpx.Timeout(5.0)


class KeyUnavailable(RuntimeError):
    """Intake could not be asked, or refused: try again later."""


class KeyClient:
    def __init__(
        self, settings: ServiceSettings, *, intake_url: str, token: SecretStr | None
    ) -> None:
        self._settings = settings
        self._base = intake_url.rstrip("/")
        self._token = token

    def _bearer(self) -> str:
        if self._token is not None:
            return self._token.get_secret_value()
        if self._settings.jwt_jwks_url is not None:
            raise KeyUnavailable("no HOTLINE_PERSONAL_DATA_KEYS_TOKEN to ask intake for keys")
        subject = f"service:{self._settings.service_name}"
        return auth.mint(self._settings, subject=subject, scopes=[SCOPE], ttl_seconds=60)

    async def keys(self, key_ids: set[UUID]) -> dict[UUID, bytes | None]:
        """Each key by id; None for an erased one (its data shows as erased)."""
        found: dict[UUID, bytes | None] = {}
        if not key_ids:
            return found
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        async with httpx.AsyncClient(timeout=_TIMEOUT, headers=headers) as client:
            for key_id in key_ids:
                found[key_id] = await self._one(client, key_id)
        return found

    async def _one(self, client: httpx.AsyncClient, key_id: UUID) -> bytes | None:
        try:
            response = await client.get(f"{self._base}/v1/citizen-keys/{key_id}")
        except httpx.HTTPError as exc:
            raise KeyUnavailable(f"intake unreachable: {type(exc).__name__}") from None
        if response.status_code == 404:  # never issued: nothing it sealed can be opened
            return None
        if response.status_code != 200:
            raise KeyUnavailable(f"intake answered {response.status_code}")
        body = response.json()
        return None if body.get("key") is None else base64.b64decode(body["key"])
