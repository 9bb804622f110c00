from pydantic import Field, SecretStr

from shared.runtime.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    port: int = 8004
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/audit")
    # How often a Merkle checkpoint of everything recorded is published.
    checkpoint_interval_seconds: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    # Where intake (the keeper of citizens' data keys) answers, and the token to ask it for
    # a key with (scope personal-data:keys); unset, one is minted with HOTLINE_JWT_SECRET.
    intake_url: str = "http://127.0.0.1:8001"
    personal_data_keys_token: SecretStr | None = None
