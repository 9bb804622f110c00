from pydantic import Field, SecretStr

from shared.runtime.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    port: int = 8003
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/feedback")
    # How long a citizen has to rate a round after the reply, before "not rated" is recorded.
    rating_window_hours: float = Field(default=72.0, gt=0, le=24 * 60)
    timer_interval_seconds: float = Field(default=5.0, gt=0, le=300)
