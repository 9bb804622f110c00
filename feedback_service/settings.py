import base64
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.runtime import settings as runtime_settings
from shared.runtime.settings import ServiceSettings, refuse_loopback_url

DEV_RATING_LINK_SECRET = "hotline-development-rating-link-key-do-not-use-in-production"
# base64 of "hotline-development-channel-webhook-key" (Standard Webhooks secret form)
DEV_CHANNEL_SECRET = "whsec_aG90bGluZS1kZXZlbG9wbWVudC1jaGFubmVsLXdlYmhvb2sta2V5"


class FeedbackSettings(ServiceSettings):
    service_name: str = "feedback"
    port: int = 8003
    database_url: SecretStr = SecretStr(
        "postgresql+asyncpg://hotline_runtime@127.0.0.1:55432/feedback"
    )
    migration_database_url: SecretStr | None = SecretStr(
        "postgresql+asyncpg://hotline@127.0.0.1:55432/feedback"
    )
    # How long a citizen has to rate a round after its reply was approved, before "not rated"
    # is recorded; never less than until the callback is due (domain.review).
    rating_window_hours: float = Field(default=72.0, gt=0, le=24 * 60)
    timer_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    # A callback falls due by close of business on this working day after approval.
    callback_working_days: int = Field(default=1, ge=0, le=10)
    # Or, when set, a callback falls due this many clock hours after approval instead.
    callback_due_hours: float | None = Field(default=None, gt=0, le=24 * 30)
    # Unreached callbacks allowed per round; the last one records "not rated" (unreachable).
    callback_max_attempts: int = Field(default=3, ge=1, le=20)
    callback_retry_hours: float = Field(default=4.0, gt=0, le=24 * 7)  # until the next attempt
    # HMAC key that signs citizens' rating links, and where a link points (`<base>/<token>`).
    # Unset: the built-in development key where HOTLINE_ENVIRONMENT is development or test;
    # otherwise (production, the default) no rating links. Production issuing links refuses
    # a loopback base.
    rating_link_secret: SecretStr | None = None
    rating_link_base_url: str = "http://127.0.0.1:8003/v1/rating-links"
    # Citizens' channels: where notices to citizens go (a JSON object, channel → URL, e.g.
    # {"wechat": "https://…"}; a channel not listed gets none) and the `whsec_` secret that
    # signs them. Unset: the built-in development key where HOTLINE_ENVIRONMENT is development
    # or test; otherwise (production, the default) no notices.
    citizen_channel_urls: dict[str, str] = Field(default_factory=dict)
    citizen_channel_secret: SecretStr | None = None
    # Webhook deliveries: attempts before one is recorded failed, the first retry's delay
    # (doubling after each failure, at most an hour), each POST's timeout, the sender's poll.
    # 30 attempts span about 20 hours: a receiver down overnight still gets its notices
    # (8, as before, gave up after 11 minutes).
    webhook_max_attempts: int = Field(default=30, ge=1, le=50)
    webhook_backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_interval_seconds: float = Field(default=1.0, gt=0, le=300)
    # Partners' webhooks to loopback or private addresses: refused in production (the
    # default) unless set (see targets.py); allowed in development and test, where receivers
    # run on this machine.
    webhook_private_targets: bool | None = None
    # Where intake (the keeper of citizens' data keys) answers, and the token to ask it for
    # a key with (scope personal-data:keys); unset, one is minted with HOTLINE_JWT_SECRET.
    intake_url: str = "http://127.0.0.1:8001"
    personal_data_keys_token: SecretStr | None = None

    @field_validator("citizen_channel_secret")
    @classmethod
    def _standard_webhooks_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None:
            return None
        text = secret.get_secret_value()
        try:
            key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
        except ValueError:
            key = b""
        if not text.startswith("whsec_") or not 24 <= len(key) <= 64:  # as the spec says
            raise ValueError("a Standard Webhooks secret: whsec_<base64 of 24 to 64 bytes>")
        return secret

    @model_validator(mode="after")
    def _refuse_built_in_keys(self) -> Self:
        # The built-in keys are in the source: whoever reads it could forge links and notices.
        if self.development_keys_allowed:
            return self
        if self.rating_link_secret is not None and (
            self.rating_link_secret.get_secret_value() == DEV_RATING_LINK_SECRET
        ):
            raise ValueError("production refuses the built-in HOTLINE_RATING_LINK_SECRET")
        if self.citizen_channel_secret is not None and (
            self.citizen_channel_secret.get_secret_value() == DEV_CHANNEL_SECRET
        ):
            raise ValueError("production refuses the built-in HOTLINE_CITIZEN_CHANNEL_SECRET")
        return self

    @model_validator(mode="after")
    def _public_rating_links(self) -> Self:
        # Texted to citizens: a loopback base would send them nowhere. Production without
        # a link key issues no links, so it needs no base either.
        if self.environment == "production" and self.rating_link_secret is not None:
            refuse_loopback_url("HOTLINE_RATING_LINK_BASE_URL", self.rating_link_base_url)
        return self

    def private_targets_allowed(self) -> bool:
        if self.webhook_private_targets is not None:
            return self.webhook_private_targets
        return self.development_keys_allowed

    def rating_link_key(self) -> bytes | None:
        """The key signing rating links; None when production has none configured."""
        if self.rating_link_secret is not None:
            return self.rating_link_secret.get_secret_value().encode()
        return DEV_RATING_LINK_SECRET.encode() if self.development_keys_allowed else None

    def channel_secret(self) -> str | None:
        """The secret signing notices to citizens; None when production has none."""
        if self.citizen_channel_secret is not None:
            return self.citizen_channel_secret.get_secret_value()
        return DEV_CHANNEL_SECRET if self.development_keys_allowed else None


# The process's settings, for the code the runtime calls with a transaction only: the
# consume loop's handlers and the feedback aggregate's projection. `main.create_app` sets
# them once, before anything runs; routes and timers read the runtime's (the same object).
_current: list[FeedbackSettings] = []


def use(settings: FeedbackSettings) -> None:
    _current[:] = [settings]


def current() -> FeedbackSettings:
    """The settings `use` set, or those of the environment if none were (tests)."""
    if not _current:
        use(runtime_settings.load(FeedbackSettings))
    return _current[0]
