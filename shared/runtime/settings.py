"""Settings every service shares; environment names are HOTLINE_<FIELD>.

Secrets may also come from files named like the variable (hotline_database_url) in the
directory given by HOTLINE_SECRETS_DIR, as Kubernetes mounts them. A database URL in the
form CloudNativePG's `<cluster>-app` Secret gives it (`postgresql://...`, key `uri`) is
accepted as it is: the scheme is rewritten for SQLAlchemy's asyncpg driver.
"""

import ipaddress
import os
from pathlib import Path
from typing import Literal, Self, TypeVar
from urllib.parse import urlsplit

from limits import parse
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "hotline-development-signing-key-do-not-use-in-production"
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as its hash
ASYNC_SCHEME = "postgresql+asyncpg://"
_PLAIN_SCHEMES = ("postgresql://", "postgres://")  # libpq URIs, as CloudNativePG writes them


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    service_name: str
    # Unset means production: the built-in development keys and webhooks to private addresses
    # are refused unless `development` (what `make run` sets) or `test` (the test stack) is
    # named explicitly. A deployment that forgets the variable is safe, not open.
    environment: Literal["development", "test", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # The proxies whose X-Forwarded-For (and -Proto) are believed, comma-separated addresses
    # or networks: behind them the client is the first address from the right not among
    # them. Without it every request through the ingress has the ingress's address, and the
    # per-client rate limits become one limit shared by every citizen.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    database_url: SecretStr  # as the runtime role: append-only history (shared/runtime/roles.py)
    # As the schema's owner, for `hotline migrate` only; the services never use it.
    migration_database_url: SecretStr | None = None
    # The role the migrations grant the runtime rights to (shared/runtime/roles.py).
    database_runtime_role: str = Field(
        default="hotline_runtime", pattern=r"^[a-z_][a-z0-9_]{0,62}$"
    )
    # Opened as needed and kept. Past the pool a request waits for a connection; one opened
    # beyond it (overflow) is closed when returned, so a steady load past the pool opens
    # and closes a connection (a PostgreSQL backend, asyncpg's type introspection) per
    # burst: the default keeps the peak of the former 10 + 10 without that churn.
    database_pool_size: int = Field(default=20, ge=1, le=100)
    database_max_overflow: int = Field(default=0, ge=0, le=100)
    kafka_bootstrap: str = "127.0.0.1:9092"
    consumer_group: str | None = None
    consumer_instance_id: str | None = None  # static membership: a quick restart, no rebalance
    relay_enabled: bool = True
    # While records keep coming, the relay and the consume loop take at most one pass per
    # this many ms, and a pass after a quiet spell at once (shared/runtime/pacing.py): under
    # load each pass carries more records for its fixed price, idle nothing waits. A hop on
    # the way from a filing to its assignment (intake's relay, dispatch's consume loop) is
    # set to 0 in that service's settings.
    relay_linger_ms: float = Field(default=50.0, ge=0, le=1000)
    # The relay's linger after a pass that found more than a couple of records (a burst);
    # one shorter than relay_linger_ms (the default 0) leaves that linger.
    relay_busy_linger_ms: float = Field(default=0.0, ge=0, le=1000)
    consumer_linger_ms: float = Field(default=50.0, ge=0, le=1000)
    # What this process runs (services/entrypoint.py): `all` the HTTP API with the relay, the
    # consume loop and the timers in one event loop (tests, one-process runs); `web` the HTTP
    # API only (any number of them); `worker` the relay, consume loop and timers, answering
    # HTTP only for health and metrics.
    process_role: Literal["all", "web", "worker"] = "all"
    # uvicorn workers of `entrypoint SERVICE web`: HTTP on every core the pod has.
    web_processes: int = Field(default=2, ge=1, le=64)
    # Group commit (shared/runtime/commit_groups.py) for the routes that use it: at most
    # this many commands asked at once share one transaction (1: each its own), in at most
    # `commit_groups_open` transactions open at a time per process.
    commit_group_size: int = Field(default=16, ge=1, le=64)
    commit_groups_open: int = Field(default=2, ge=1, le=64)
    # GETs one process may hold at once waiting for a change (`Prefer: wait`,
    # shared/runtime/changes.py); past it they are answered 503 with Retry-After.
    max_waiting_requests: int = Field(default=512, ge=0, le=100_000)
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "hotline-dev"
    jwt_audience: str = "hotline"
    # Where partners fetch tokens (the city's identity provider), as the OpenAPI document says.
    oauth2_token_url: str = "https://identity.invalid/oauth2/token"
    log_level: str = "INFO"
    # Rate limits (`limits` notation, per process: see shared.runtime.ratelimit): what answers
    # without a token per client address (the progress check, rating links), Open311 POST per
    # api_key, and failed token checks per client address.
    rate_limit_anonymous: str = "60/minute"
    rate_limit_open311_post: str = "120/minute"
    rate_limit_token_failures: str = "20/minute"
    # How long an Idempotency-Key is remembered: a retry within it answers the first request,
    # after it the record (a hash of the body, the response) is deleted
    # (shared/runtime/idempotency.py). Clients are told to retry within a day.
    idempotency_retention_hours: float = Field(default=24.0, ge=1, le=24 * 365)
    # How often the service re-checks a slice of its own history (shared/runtime/selfcheck.py).
    chain_check_interval_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # Names a crash point (shared.runtime.faults) where the process SIGKILLs itself once;
    # only the crash-safety tests set it.
    crash_at: str | None = None
    # Development and tests: every finished span as a JSON line in this file (trace_provider.py);
    # production exports through the standard OTEL_* variables instead.
    trace_file: Path | None = None

    @field_validator("database_url", "migration_database_url", mode="after")
    @classmethod
    def _asyncpg_scheme(cls, url: SecretStr | None) -> SecretStr | None:
        if url is None:
            return None
        value = url.get_secret_value()
        for scheme in _PLAIN_SCHEMES:
            if value.startswith(scheme):
                return SecretStr(ASYNC_SCHEME + value.removeprefix(scheme))
        return url

    def migration_url(self) -> str:
        """Where migrations run: the owner's URL, or the one URL a deployment gives when it
        keeps a single role (then history is not protected from the service itself)."""
        return (self.migration_database_url or self.database_url).get_secret_value()

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, text: str) -> str:
        for item in (part.strip() for part in text.split(",")):
            if item != "*":
                ipaddress.ip_network(item)  # a ValueError names the one that is not
        return text

    @field_validator("rate_limit_anonymous", "rate_limit_open311_post", "rate_limit_token_failures")
    @classmethod
    def _rate_limit(cls, text: str) -> str:
        parse(text)  # a ValueError names what is wrong
        return text

    @property
    def development_keys_allowed(self) -> bool:
        """The built-in keys (signing, rating links, channels) and private webhook targets:
        only where an environment was named explicitly as development or test."""
        return self.environment != "production"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if (
            self.environment == "production"
            and self.jwt_jwks_url is None
            and (self.jwt_secret.get_secret_value() == DEV_JWT_SECRET)
        ):
            raise ValueError(
                "production (the default when HOTLINE_ENVIRONMENT is unset) needs "
                "HOTLINE_JWT_JWKS_URL or a real HOTLINE_JWT_SECRET; "
                "set HOTLINE_ENVIRONMENT=development to use the built-in development key"
            )
        if (
            self.environment == "production"
            and self.jwt_jwks_url is None
            and len(self.jwt_secret.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES
        ):
            raise ValueError(
                f"HOTLINE_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes in production: "
                "a shorter HS256 key can be guessed offline from any token it signed"
            )
        if self.environment == "production" and self.crash_at is not None:
            raise ValueError("HOTLINE_CRASH_AT is for tests only")
        if self.environment == "production" and self.trace_file is not None:
            raise ValueError("HOTLINE_TRACE_FILE is for development and tests only")
        return self


def refuse_loopback_url(variable: str, url: str) -> None:
    """Raise a ValueError naming `variable` when `url` has no host, or a loopback or
    localhost one: an address handed to citizens must be one they can reach, and the
    services' defaults (127.0.0.1, for `make run`) are not."""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # an unbalanced bracket, a bad port
        host = None
    if not host:
        raise ValueError(f"{variable} must be an absolute URL with a host, not {url!r}")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        raise ValueError(
            f"{variable} is {url!r}: production needs the public address citizens reach "
            "(the Ingress host), not a loopback one"
        )


class KafkaSecurity(BaseSettings):
    """How clients reach the brokers: PLAINTEXT locally; SSL with client certificates (mutual
    TLS) against a Strimzi listener with `authentication: {type: tls}`. The files are PEM, as
    the Secrets of Strimzi's cluster CA and of each KafkaUser hold them."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_KAFKA_", extra="ignore")

    # ServiceSettings' own: production must name its transport, so that a deployment that
    # forgets the TLS settings stops, instead of sending appeals in clear.
    environment: Literal["development", "test", "production"] = Field(
        default="production", validation_alias="HOTLINE_ENVIRONMENT"
    )
    security_protocol: Literal["PLAINTEXT", "SSL"] = "PLAINTEXT"
    ssl_cafile: Path | None = None  # the cluster CA (`<cluster>-cluster-ca-cert`, ca.crt)
    ssl_certfile: Path | None = None  # the user's certificate (user.crt)
    ssl_keyfile: Path | None = None  # the user's private key (user.key)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.environment == "production" and "security_protocol" not in self.model_fields_set:
            raise ValueError(
                "production needs HOTLINE_KAFKA_SECURITY_PROTOCOL: SSL (mutual TLS with the "
                "brokers), or PLAINTEXT named explicitly where the network itself is encrypted"
            )
        if self.security_protocol == "SSL" and self.ssl_cafile is None:
            raise ValueError("HOTLINE_KAFKA_SECURITY_PROTOCOL=SSL needs HOTLINE_KAFKA_SSL_CAFILE")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("HOTLINE_KAFKA_SSL_CERTFILE and HOTLINE_KAFKA_SSL_KEYFILE go together")
        if self.security_protocol == "PLAINTEXT" and (
            self.ssl_cafile or self.ssl_certfile or self.ssl_keyfile
        ):
            raise ValueError("TLS files given but HOTLINE_KAFKA_SECURITY_PROTOCOL is not SSL")
        return self


class KafkaGroupTiming(BaseSettings):
    """How fast a consumer group notices a member gone (docs/operations.md, Replicas).

    After a SIGKILL a replica's partitions move once its session expires; after a graceful
    stop (a dynamic member sends LeaveGroup) the survivors learn of the rebalance from their
    next heartbeat. So the session bounds the takeover after a crash and the heartbeat the
    takeover after a SIGTERM. The broker must allow the session: its
    `group.min.session.timeout.ms` (6 s by default) is lowered to 1 s in our broker configs.
    """

    model_config = SettingsConfigDict(env_prefix="HOTLINE_KAFKA_", extra="ignore")

    session_timeout_ms: int = Field(default=3000, ge=1000, le=300_000)
    heartbeat_interval_ms: int = Field(default=500, ge=100, le=60_000)
    # How long a rebalance waits for members to rejoin; longer than the session, so a member
    # busy with a batch is not dropped from the group while it rejoins.
    rebalance_timeout_ms: int = Field(default=6000, ge=1000, le=600_000)

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> Self:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("the heartbeat interval must be at most a third of the session")
        return self


S = TypeVar("S", bound=ServiceSettings)


def load(settings_class: type[S]) -> S:
    """Read settings, passing the secrets directory only when it exists (pydantic warns else)."""
    secrets = os.environ.get("HOTLINE_SECRETS_DIR")
    if secrets and Path(secrets).is_dir():
        return settings_class(_secrets_dir=secrets)
    return settings_class()
