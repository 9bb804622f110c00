from pydantic import SecretStr

from shared.runtime.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    port: int = 8003
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/feedback")
