from typing import Self

from pydantic import Field, SecretStr, model_validator

from shared.runtime.settings import ServiceSettings

DEV_RATING_LINK_SECRET = "hotline-development-rating-link-key-do-not-use-in-production"


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    port: int = 8003
    database_url: SecretStr = SecretStr("postgresql+asyncpg://hotline@127.0.0.1:55432/feedback")
    # How long a citizen has to rate a round after its reply was approved, before "not rated"
    # is recorded.
    rating_window_hours: float = Field(default=72.0, gt=0, le=24 * 60)
    timer_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    # A callback falls due by close of business on this working day after approval.
    callback_working_days: int = Field(default=1, ge=0, le=10)
    # Unreached callbacks allowed per round; the last one records "not rated" (unreachable).
    callback_max_attempts: int = Field(default=3, ge=1, le=20)
    callback_retry_hours: float = Field(default=4.0, gt=0, le=24 * 7)  # until the next attempt
    # HMAC key that signs citizens' rating links (a secret file `hotline_rating_link_secret`
    # in production), and where a link points: `<base>/<token>`.
    rating_link_secret: SecretStr = SecretStr(DEV_RATING_LINK_SECRET)
    rating_link_base_url: str = "http://127.0.0.1:8003/v1/rating-links"

    @model_validator(mode="after")
    def _refuse_development_link_key(self) -> Self:
        if (
            self.environment == "production"
            and self.rating_link_secret.get_secret_value() == DEV_RATING_LINK_SECRET
        ):
            raise ValueError("production needs a real HOTLINE_RATING_LINK_SECRET")
        return self
