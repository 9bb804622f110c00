from pydantic import Field, SecretStr

from shared.runtime.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    port: int = 8004
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/audit")
    # How often a Merkle checkpoint of everything recorded is published.
    checkpoint_interval_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
