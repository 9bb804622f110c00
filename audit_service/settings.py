from pathlib import Path
from typing import Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, model_validator

from audit_service.domain import signing
from shared.runtime.settings import ServiceSettings

DEV_SEAL_KEY = "hotline-development-audit-seal-key-do-not-use-in-production"


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    port: int = 8004
    # Audit is on no one's way: nothing waits for it to record a fact, so its consume loop
    # gathers half a second of facts per pass (one fetch, one transaction) where the others
    # take 50 ms. Under load that is about half its CPU per fact, and the broker's, that
    # audit's fetches (every partition of every topic each time) cost.
    consumer_linger_ms: float = Field(default=500.0, ge=0, le=1000)
    database_url: SecretStr = SecretStr(
        "postgresql+asyncpg://hotline_runtime@127.0.0.1:55432/audit"
    )
    migration_database_url: SecretStr | None = SecretStr(
        "postgresql+asyncpg://hotline@127.0.0.1:55432/audit"
    )
    # How often a Merkle checkpoint of everything recorded is published.
    checkpoint_interval_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    # Where intake (the keeper of citizens' data keys) answers, and the token to ask it for
    # a key with (scope personal-data:keys); unset, one is minted with HOTLINE_JWT_SECRET.
    intake_url: str = "http://127.0.0.1:8001"
    personal_data_keys_token: SecretStr | None = None
    # HMAC key sealing the time and place audit recorded each fact (domain/records.py): kept
    # out of the database, so database access alone cannot move them unnoticed.
    seal_key: SecretStr | None = None

    def seal_key_bytes(self) -> bytes:
        """The seal key; the development key outside production, none in it (audit then
        refuses to start: it could not prove its record times)."""
        if self.seal_key is not None:
            return self.seal_key.get_secret_value().encode()
        if self.environment == "production":
            raise RuntimeError("production needs HOTLINE_SEAL_KEY (audit's seal key)")
        return DEV_SEAL_KEY.encode()

    # The Ed25519 key checkpoints are signed with, PEM (PKCS#8): the key itself (or a file
    # `hotline_checkpoint_signing_key` in HOTLINE_SECRETS_DIR), or the path of a mounted
    # file. Neither: the development key, which only development and test accept.
    checkpoint_signing_key: SecretStr | None = None
    checkpoint_signing_key_file: Path | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if self.checkpoint_signing_key is not None and self.checkpoint_signing_key_file:
            raise ValueError(
                "give HOTLINE_CHECKPOINT_SIGNING_KEY or HOTLINE_CHECKPOINT_SIGNING_KEY_FILE, "
                "not both"
            )
        return self

    @model_validator(mode="after")
    def _refuse_built_in_seal_key(self) -> Self:
        # The built-in key is in the source: whoever reads it could reseal moved facts.
        if (
            not self.development_keys_allowed
            and self.seal_key is not None
            and self.seal_key.get_secret_value() == DEV_SEAL_KEY
        ):
            raise ValueError("production refuses the built-in HOTLINE_SEAL_KEY")
        return self

    def signing_key(self) -> Ed25519PrivateKey:
        """The checkpoint signing key, read when the service starts (not when `hotline
        migrate` loads these settings); raises on a missing file, a key that is no Ed25519,
        no key at all outside development and test, or the built-in key given explicitly
        there (anyone could sign checkpoints with it)."""
        key = self._configured_signing_key()
        if key is None and not self.development_keys_allowed:
            raise ValueError(
                f"{self.environment} signs checkpoints with a real key: set "
                "HOTLINE_CHECKPOINT_SIGNING_KEY_FILE (or HOTLINE_CHECKPOINT_SIGNING_KEY)"
            )
        if key is None:
            return signing.DEVELOPMENT_KEY
        if not self.development_keys_allowed and signing.is_development_key(key):
            raise ValueError(f"{self.environment} refuses the built-in checkpoint signing key")
        return key

    def _configured_signing_key(self) -> Ed25519PrivateKey | None:
        if self.checkpoint_signing_key_file is not None:
            return signing.private_from_pem(self.checkpoint_signing_key_file.read_bytes())
        if self.checkpoint_signing_key is not None:
            return signing.private_from_pem(self.checkpoint_signing_key.get_secret_value().encode())
        return None
