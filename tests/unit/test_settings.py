from pathlib import Path

import pytest
from pydantic import ValidationError

from intake_service.settings import IntakeSettings
from shared.runtime import settings


def test_secrets_are_read_from_files_named_like_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hotline_database_url").write_text("postgresql+asyncpg://app@db:5432/intake")
    monkeypatch.setenv("HOTLINE_SECRETS_DIR", str(tmp_path))
    loaded = settings.load(IntakeSettings)
    assert loaded.database_url.get_secret_value() == "postgresql+asyncpg://app@db:5432/intake"


def test_a_missing_secrets_dir_is_ignored_without_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_SECRETS_DIR", str(tmp_path / "absent"))
    assert settings.load(IntakeSettings).port == 8001


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_KAFKA_BOOTSTRAP", "kafka:9093")
    monkeypatch.setenv("HOTLINE_PORT", "9000")
    loaded = settings.load(IntakeSettings)
    assert (loaded.kafka_bootstrap, loaded.port) == ("kafka:9093", 9000)


def test_production_refuses_the_development_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="HOTLINE_JWT_JWKS_URL"):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_JWT_JWKS_URL", "https://sso.example.gov.cn/jwks")
    assert settings.load(IntakeSettings).environment == "production"


def test_production_refuses_crash_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HOTLINE_JWT_SECRET", "a-real-secret-from-the-vault")
    monkeypatch.setenv("HOTLINE_CRASH_AT", "relay.before_send")
    with pytest.raises(ValidationError, match="tests only"):
        settings.load(IntakeSettings)
