"""Settings every service shares; environment names are HOTLINE_<FIELD>.

Secrets may also come from files named like the variable (hotline_database_url) in the
directory given by HOTLINE_SECRETS_DIR, as Kubernetes mounts them.
"""

import os
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "hotline-development-signing-key-do-not-use-in-production"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    service_name: str
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    database_url: SecretStr
    database_pool_size: int = Field(default=10, ge=1, le=100)
    kafka_bootstrap: str = "127.0.0.1:9092"
    consumer_group: str | None = None
    consumer_instance_id: str | None = None  # static membership: a quick restart, no rebalance
    relay_enabled: bool = True
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "hotline-dev"
    jwt_audience: str = "hotline"
    log_level: str = "INFO"
    # Names a crash point (shared.runtime.faults) where the process SIGKILLs itself once;
    # only the crash-safety tests set it.
    crash_at: str | None = None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if (
            self.environment == "production"
            and self.jwt_jwks_url is None
            and (self.jwt_secret.get_secret_value() == DEV_JWT_SECRET)
        ):
            raise ValueError("production needs HOTLINE_JWT_JWKS_URL or a real HOTLINE_JWT_SECRET")
        if self.environment == "production" and self.crash_at is not None:
            raise ValueError("HOTLINE_CRASH_AT is for tests only")
        return self


S = TypeVar("S", bound=ServiceSettings)


def load(settings_class: type[S]) -> S:
    """Read settings, passing the secrets directory only when it exists (pydantic warns else)."""
    secrets = os.environ.get("HOTLINE_SECRETS_DIR")
    if secrets and Path(secrets).is_dir():
        return settings_class(_secrets_dir=secrets)
    return settings_class()
