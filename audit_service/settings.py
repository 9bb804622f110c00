from pydantic import SecretStr

from shared.runtime.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    service_name: str = "audit"
    port: int = 8004
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/audit")
