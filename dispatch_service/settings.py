from pydantic import Field, SecretStr

from shared.runtime.settings import ServiceSettings


class DispatchSettings(ServiceSettings):
    service_name: str = "dispatch"
    port: int = 8002
    database_url: SecretStr = SecretStr(
        "postgresql+asyncpg://hotline_runtime@127.0.0.1:55432/dispatch"
    )
    migration_database_url: SecretStr | None = SecretStr(
        "postgresql+asyncpg://hotline@127.0.0.1:55432/dispatch"
    )
    consumer_linger_ms: float = Field(default=0.0, ge=0, le=1000)  # forwarded appeals
    timer_interval_seconds: float = Field(default=5.0, gt=0, le=300)
