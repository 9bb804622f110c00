import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from audit_service.settings import DEV_SEAL_KEY, AuditSettings
from feedback_service.settings import (
    DEV_CHANNEL_SECRET,
    DEV_RATING_LINK_SECRET,
    FeedbackSettings,
)
from intake_service.settings import IntakeSettings
from shared import personal_data
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
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_KEK", base64.b64encode(bytes(32)).decode())
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_INDEX_KEY", "an-index-key-from-the-vault-of-32-bytes")
    monkeypatch.setenv("HOTLINE_AUDIT_PUBLIC_URL", "https://audit.example.gov.cn")
    assert settings.load(IntakeSettings).environment == "production"


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_outside_development_intake_refuses_the_built_in_personal_data_keys(
    environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", environment)
    monkeypatch.setenv("HOTLINE_JWT_JWKS_URL", "https://sso.example.gov.cn/jwks")
    with pytest.raises(ValidationError):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_INDEX_KEY", "an-index-key-from-the-vault-of-32-bytes")
    with pytest.raises(ValidationError, match="HOTLINE_PERSONAL_DATA_KEK"):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_KEK", "too-short")
    with pytest.raises(ValidationError, match="32 bytes"):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_KEK", base64.b64encode(bytes(32)).decode())
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_INDEX_KEY", "short")  # phones could be tried
    with pytest.raises(ValidationError, match="INDEX_KEY must be at least 32 bytes"):
        settings.load(IntakeSettings)


def test_production_refuses_a_token_key_short_enough_to_guess(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HOTLINE_JWT_SECRET", "changeme")
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_JWT_JWKS_URL", "https://idp.example/jwks")  # no secret used
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_KEK", base64.b64encode(b"k" * 32).decode())
    monkeypatch.setenv("HOTLINE_PERSONAL_DATA_INDEX_KEY", "an-index-key-from-the-vault-of-32-bytes")
    monkeypatch.setenv("HOTLINE_AUDIT_PUBLIC_URL", "https://audit.example.gov.cn")
    settings.load(IntakeSettings)


LOOPBACK_URLS = [
    "http://127.0.0.1:8004",
    "http://127.8.0.1/v1/rating-links",
    "http://localhost:8003/v1/rating-links",
    "https://LOCALHOST/",
    "http://app.localhost/",
    "http://[::1]:8004",
    "/v1/receipts",  # no host at all
]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_production_refuses_a_loopback_audit_public_url(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Receipts link there: the default (127.0.0.1) would send every citizen nowhere.
    production = {
        "environment": "production",
        "jwt_jwks_url": "https://idp/jwks",
        "personal_data_kek": base64.b64encode(bytes(32)).decode(),
        "personal_data_index_key": "an-index-key-from-the-vault-of-32-bytes",
    }
    with pytest.raises(ValidationError, match="HOTLINE_AUDIT_PUBLIC_URL"):
        IntakeSettings(**production, audit_public_url=url)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="HOTLINE_AUDIT_PUBLIC_URL"):
        IntakeSettings(**production)  # type: ignore[arg-type]  # the default is loopback
    public_url = "https://audit.example.gov.cn"
    public = IntakeSettings(**production, audit_public_url=public_url)  # type: ignore[arg-type]
    assert public.audit_public_url == public_url
    assert IntakeSettings(audit_public_url=url).audit_public_url == url  # the tests' `test`
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "development")
    assert settings.load(IntakeSettings).audit_public_url == "http://127.0.0.1:8004"


@pytest.mark.parametrize("url", LOOPBACK_URLS)
def test_production_issuing_rating_links_refuses_a_loopback_base_url(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = {
        "environment": "production",
        "jwt_jwks_url": "https://idp/jwks",
        "rating_link_secret": "k3y",
    }
    with pytest.raises(ValidationError, match="HOTLINE_RATING_LINK_BASE_URL"):
        FeedbackSettings(**production, rating_link_base_url=url)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="HOTLINE_RATING_LINK_BASE_URL"):
        FeedbackSettings(**production)  # type: ignore[arg-type]  # the default is loopback
    base = "https://feedback.example.gov.cn/v1/rating-links"
    public = FeedbackSettings(**production, rating_link_base_url=base)  # type: ignore[arg-type]
    assert public.rating_link_base_url == base
    # No link key in production: no links are issued, so the base is never handed out.
    unused = FeedbackSettings(environment="production", jwt_jwks_url="https://idp/jwks")
    assert unused.rating_link_key() is None
    assert FeedbackSettings(rating_link_base_url=url).rating_link_base_url == url  # `test`
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "development")
    assert settings.load(FeedbackSettings).rating_link_key() is not None


def test_production_refuses_crash_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HOTLINE_JWT_SECRET", "a-real-secret-from-the-vault-of-32-bytes")
    monkeypatch.setenv("HOTLINE_CRASH_AT", "relay.before_send")
    with pytest.raises(ValidationError, match="tests only"):
        settings.load(IntakeSettings)


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://app:s%40cret@intake-pg-rw.hotline:5432/app",
        "postgres://app:s%40cret@intake-pg-rw.hotline:5432/app",
    ],
)
def test_a_cloudnativepg_uri_is_rewritten_for_asyncpg(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CloudNativePG's `<cluster>-app` Secret holds a libpq URI under the key `uri`; the
    # Deployment mounts that key as the file hotline_database_url.
    (tmp_path / "hotline_database_url").write_text(given)
    monkeypatch.setenv("HOTLINE_SECRETS_DIR", str(tmp_path))
    loaded = settings.load(IntakeSettings)
    assert loaded.database_url.get_secret_value() == (
        "postgresql+asyncpg://app:s%40cret@intake-pg-rw.hotline:5432/app"
    )


def test_an_asyncpg_url_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://app@db:5432/postgresql://not-a-scheme"
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    assert settings.load(IntakeSettings).database_url.get_secret_value() == url


def test_unset_environment_is_production_and_refuses_every_built_in_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOTLINE_ENVIRONMENT")
    with pytest.raises(ValidationError, match="HOTLINE_ENVIRONMENT=development"):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_JWT_SECRET", "a-real-secret-from-the-vault-of-32-bytes")
    loaded = settings.load(FeedbackSettings)
    assert loaded.environment == "production"
    assert (loaded.rating_link_key(), loaded.channel_secret()) == (None, None)
    assert not loaded.private_targets_allowed()
    for name, value in (
        ("HOTLINE_RATING_LINK_SECRET", DEV_RATING_LINK_SECRET),
        ("HOTLINE_CITIZEN_CHANNEL_SECRET", DEV_CHANNEL_SECRET),
    ):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(ValidationError, match="built-in"):
                settings.load(FeedbackSettings)
    # the keys in the source, given explicitly, are refused as well
    real_kek = base64.b64encode(b"a-real-kek-of-thirty-two-bytes!!").decode()
    for name, value in (
        ("HOTLINE_PERSONAL_DATA_KEK", personal_data.DEV_KEK),
        ("HOTLINE_PERSONAL_DATA_INDEX_KEY", personal_data.DEV_INDEX_KEY),
    ):
        with monkeypatch.context() as m:
            m.setenv("HOTLINE_AUDIT_PUBLIC_URL", "https://audit.example.gov.cn")
            m.setenv("HOTLINE_PERSONAL_DATA_KEK", real_kek)
            m.setenv("HOTLINE_PERSONAL_DATA_INDEX_KEY", "a-real-index-key-from-the-vault-32b")
            settings.load(IntakeSettings)
            m.setenv(name, value)
            with pytest.raises(ValidationError, match=f"refuses the built-in {name}"):
                settings.load(IntakeSettings)
    with monkeypatch.context() as m:
        m.setenv("HOTLINE_SEAL_KEY", DEV_SEAL_KEY)
        with pytest.raises(ValidationError, match="built-in HOTLINE_SEAL_KEY"):
            settings.load(AuditSettings)


def test_only_an_explicit_development_or_test_environment_allows_the_built_in_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for environment in ("development", "test"):
        monkeypatch.setenv("HOTLINE_ENVIRONMENT", environment)
        loaded = settings.load(FeedbackSettings)
        assert loaded.jwt_secret.get_secret_value() == settings.DEV_JWT_SECRET
        assert loaded.rating_link_key() == DEV_RATING_LINK_SECRET.encode()
        assert loaded.private_targets_allowed()


def test_feedback_signs_with_development_keys_only_outside_production() -> None:
    development = FeedbackSettings()  # the tests' explicit HOTLINE_ENVIRONMENT=test
    assert development.rating_link_key() is not None
    assert development.channel_secret() == DEV_CHANNEL_SECRET
    production = FeedbackSettings(environment="production", jwt_jwks_url="https://idp/jwks")
    assert (production.rating_link_key(), production.channel_secret()) == (None, None)
    configured = FeedbackSettings(
        environment="production",
        jwt_jwks_url="https://idp/jwks",
        rating_link_secret="k3y",
        rating_link_base_url="https://feedback.example.gov.cn/v1/rating-links",
        citizen_channel_secret="whsec_YS1jaGFubmVsLWtleS1vZi0zMi1ieXRlcy1sb25nISE=",
    )
    assert (configured.rating_link_key(), configured.channel_secret()) == (
        b"k3y",
        "whsec_YS1jaGFubmVsLWtleS1vZi0zMi1ieXRlcy1sb25nISE=",
    )
    with pytest.raises(ValueError, match="whsec_"):
        FeedbackSettings(citizen_channel_secret="plain")
    too_long = "whsec_" + base64.b64encode(bytes(65)).decode()
    for unusable in ("whsec_a2V5", "whsec_not base64!", too_long):  # 3 bytes; none; 65
        with pytest.raises(ValueError, match="24 to 64 bytes"):
            FeedbackSettings(citizen_channel_secret=unusable)


def test_a_rate_limit_in_the_wrong_notation_stops_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_RATE_LIMIT_ANONYMOUS", "lots")
    with pytest.raises(ValidationError, match="rate limit"):
        settings.load(IntakeSettings)
    monkeypatch.setenv("HOTLINE_RATE_LIMIT_ANONYMOUS", "10/second")
    assert settings.load(IntakeSettings).rate_limit_anonymous == "10/second"
