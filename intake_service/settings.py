import json
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator

from shared import personal_data
from shared.runtime.settings import ServiceSettings, refuse_loopback_url

_BUILT_IN_ALLOWED = frozenset({"development", "test"})


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    port: int = 8001
    database_url: SecretStr = SecretStr(
        "postgresql+asyncpg://hotline_runtime@127.0.0.1:55432/intake"
    )
    migration_database_url: SecretStr | None = SecretStr(
        "postgresql+asyncpg://hotline@127.0.0.1:55432/intake"
    )
    # A filing's way to dispatch: a short linger, which at a steady 100/s (a commit every
    # 10 ms) holds back a filing at most 5 ms, and under a burst gathers what comes
    # meanwhile into one pass. While facts come faster than 400/s (shared.runtime.pacing),
    # 20 ms: there the burst's queue sets the wait, and a longer linger gathers more per
    # pass (docs/benchmarks.md: less CPU per filing at the bench's burst).
    relay_linger_ms: float = Field(default=5.0, ge=0, le=1000)
    relay_busy_linger_ms: float = Field(default=20.0, ge=0, le=1000)
    # Open311 GeoReport v2 (/open311/v2/): partners' API keys as a JSON object mapping each
    # key to the partner's name ({"k3y": "wechat-miniapp"}); the name is the filing actor.
    georeport_api_keys: SecretStr = SecretStr("{}")
    georeport_jurisdiction_id: str = "12345.example.gov.cn"
    georeport_contact: str = "12345 热线平台 open311@12345.example.gov.cn"
    georeport_key_service: str = "向 12345 热线平台申请 API key: open311@12345.example.gov.cn"
    # A new appeal is flagged as a possible repeat of open appeals filed this many hours
    # before it from the same phone, or at the same address in the same category.
    repeat_window_hours: int = Field(default=72, ge=1, le=24 * 90)
    # audit's public address: a citizen's or partner's receipt links to its public
    # GET /v1/receipts/{fact_hash} (docs/receipts.md). Production refuses a loopback one.
    audit_public_url: str = "http://127.0.0.1:8004"
    # The key-encryption key wrapping citizens' data keys (32 bytes, base64), and the secret
    # of the blind index that finds a citizen by phone. Both are needed outside development
    # and test, which alone fall back to built-in keys; losing either loses that data.
    personal_data_kek: SecretStr | None = None
    personal_data_index_key: SecretStr | None = None

    @model_validator(mode="after")
    def _personal_data_keys(self) -> Self:
        if self.environment not in _BUILT_IN_ALLOWED and (
            self.personal_data_kek is None or self.personal_data_index_key is None
        ):
            raise ValueError(
                "HOTLINE_PERSONAL_DATA_KEK and HOTLINE_PERSONAL_DATA_INDEX_KEY are required "
                f"in {self.environment}: the built-in keys are for development and test only"
            )
        built_in = (
            (self.personal_data_kek, personal_data.DEV_KEK, "HOTLINE_PERSONAL_DATA_KEK"),
            (
                self.personal_data_index_key,
                personal_data.DEV_INDEX_KEY,
                "HOTLINE_PERSONAL_DATA_INDEX_KEY",
            ),
        )
        for configured, source_key, name in built_in:
            # The built-in keys are in the source: whoever reads it could unwrap or search.
            if self.environment not in _BUILT_IN_ALLOWED and (
                configured is not None and configured.get_secret_value() == source_key
            ):
                raise ValueError(f"{self.environment} refuses the built-in {name}")
        index = self.personal_data_index_key
        if (
            self.environment not in _BUILT_IN_ALLOWED
            and index is not None
            and (len(index.get_secret_value().encode()) < 32)
        ):
            # Phones are few enough to try them all against a short key's blind index.
            raise ValueError("HOTLINE_PERSONAL_DATA_INDEX_KEY must be at least 32 bytes")
        if self.personal_data_kek is not None:
            personal_data.Kek.from_base64(self.personal_data_kek.get_secret_value())
        return self

    @model_validator(mode="after")
    def _public_receipts(self) -> Self:
        # Every filing's receipt links there: a loopback address would send citizens nowhere.
        if self.environment == "production":
            refuse_loopback_url("HOTLINE_AUDIT_PUBLIC_URL", self.audit_public_url)
        return self

    def kek(self) -> personal_data.Kek:
        configured = self.personal_data_kek
        value = personal_data.DEV_KEK if configured is None else configured.get_secret_value()
        return personal_data.Kek.from_base64(value)

    def index_key(self) -> bytes:
        configured = self.personal_data_index_key
        if configured is None:
            return personal_data.DEV_INDEX_KEY.encode()
        return configured.get_secret_value().encode()

    @field_validator("georeport_api_keys", mode="after")
    @classmethod
    def _a_mapping(cls, keys: SecretStr) -> SecretStr:
        parse_partners(keys.get_secret_value())
        return keys

    def georeport_partners(self) -> dict[str, str]:
        return parse_partners(self.georeport_api_keys.get_secret_value())


def parse_partners(document: str) -> dict[str, str]:
    """API key → partner name, from HOTLINE_GEOREPORT_API_KEYS."""
    try:
        parsed = json.loads(document)
    except ValueError as exc:
        raise ValueError("HOTLINE_GEOREPORT_API_KEYS must be a JSON object") from exc
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in parsed.items()
    ):
        raise ValueError("HOTLINE_GEOREPORT_API_KEYS must map API keys to partner names")
    return dict(parsed)
