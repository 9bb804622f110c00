from pydantic import SecretStr

from shared.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    port: int = 8001
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/intake")
