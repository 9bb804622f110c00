from pydantic import Field, SecretStr

from shared.runtime.settings import ServiceSettings

DEV_SEAL_KEY = "hotline-development-audit-seal-key-do-not-use-in-production"


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    port: int = 8004
    database_url: SecretStr = SecretStr(
        "postgresql+asyncpg://hotline_runtime@127.0.0.1:55432/audit"
    )
    migration_database_url: SecretStr | None = SecretStr(
        "postgresql+asyncpg://hotline@127.0.0.1:55432/audit"
    )
    # How often a Merkle checkpoint of everything recorded is published.
    checkpoint_interval_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
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
