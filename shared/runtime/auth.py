"""OAuth2 bearer JWTs with scopes. Production verifies against a JWKS URL; development signs
and verifies with a local HMAC key (`hotline token` mints such tokens)."""

import time
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from shared.runtime import ratelimit
from shared.runtime.problems import Problem
from shared.runtime.settings import ServiceSettings

# Documented as OAuth2 client credentials, so each operation's OpenAPI `security` names the
# scope it requires and a generated client knows which token to fetch. The city's identity
# provider issues the tokens (in development, `hotline token` mints them); the token URL in the
# document is the deployment's, set by HOTLINE_OAUTH2_TOKEN_URL (see shared.runtime.openapi).
SCHEME_NAME = "OAuth2"
_oauth2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/token", scopes={})),
    scheme_name=SCHEME_NAME,
    auto_error=False,
)


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    department: str | None = None  # set on a department's tokens: it sees only its own work

    @property
    def actor(self) -> str:
        return f"department:{self.department}" if self.department else self.subject


VERIFIED_TOKENS = 4096
# The identity provider's clock and ours may differ by this much: a token just issued is
# not refused as "not yet valid", nor one just expired while in flight.
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5.0


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, timeout=JWKS_TIMEOUT_SECONDS)
            if settings.jwt_jwks_url
            else None
        )
        # A client sends the same token with many requests: its signature and claims are
        # checked once, then only its expiry (a verified token is valid until `exp`). Read
        # and written on the event loop only.
        self._known: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        known = self._known.get(token) or self._remember(token, self._decode(token))
        return _unexpired(*known)

    async def verify_async(self, token: str) -> Principal:
        """`verify`, with a token not verified before checked off the event loop where it
        may fetch the identity provider's keys (PyJWKClient's HTTP is blocking): a slow or
        absent provider delays only the requests with a new token, never the others."""
        if self._jwks is None or token in self._known:
            return self.verify(token)  # known, or a local key: no I/O
        decoded = await run_in_threadpool(self._decode, token)
        return _unexpired(*self._remember(token, decoded))

    def _remember(self, token: str, verified: tuple[Principal, float]) -> tuple[Principal, float]:
        if len(self._known) >= VERIFIED_TOKENS:
            del self._known[next(iter(self._known))]  # the oldest
        self._known[token] = verified
        return verified

    def _decode(self, token: str) -> tuple[Principal, float]:
        options: jwt.types.Options = {"require": ["exp", "sub"]}
        if self._jwks is not None:
            key: Any = self._jwks.get_signing_key_from_jwt(token).key
            algorithms = ["RS256", "ES256"]
        else:
            key, algorithms = self._settings.jwt_secret.get_secret_value(), ["HS256"]
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=self._settings.jwt_audience,
            issuer=self._settings.jwt_issuer,
            options=options,
            leeway=LEEWAY_SECONDS,
        )
        principal = Principal(
            subject=str(claims["sub"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            department=claims.get("department"),
        )
        return principal, float(claims["exp"])


def _unexpired(principal: Principal, expires: float) -> Principal:
    if time.time() >= expires + LEEWAY_SECONDS:
        raise jwt.ExpiredSignatureError("Signature has expired")
    return principal


def mint(
    settings: ServiceSettings,
    *,
    subject: str,
    scopes: list[str],
    department: str | None = None,
    ttl_seconds: int = 12 * 3600,
) -> str:
    """A development token signed with the local key."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    if department:
        claims["department"] = department
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def require(scope: str, *, centre: bool = False) -> Any:
    """A dependency returning the caller's Principal if its token carries `scope`; the scope
    is declared in the operation's OpenAPI security requirement.

    `centre`: the hotline centre's command. A token with a `department` claim is refused
    whatever scopes it carries: roles restrict, scopes alone do not decide (a department
    given a centre scope by mistake still cannot review, close or reassign its own work)."""

    async def dependency(
        request: Request, authorization: Annotated[str | None, Depends(_oauth2)]
    ) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if not token or scheme.lower() != "bearer":
            raise Problem(
                401,
                "Unauthorized",
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
                required_scope=scope,
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            principal = await verifier.verify_async(token.strip())
        except jwt.PyJWTError as exc:
            # Failed checks are counted per client; past the limit the answer is 429 with
            # Retry-After. A valid token is never refused for them: a lockout would let anyone
            # sharing the address (a NAT, the ingress) lock everyone else out.
            failures = ratelimit.item(verifier.settings.rate_limit_token_failures)
            client = ratelimit.client_of(request)
            ratelimit.of(request).hit(failures, "token-failures", client)
            raise Problem(
                401,
                "Unauthorized",
                f"invalid token: {exc}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from exc
        if scope not in principal.scopes:
            raise Problem(
                403,
                "Forbidden",
                f"the token lacks the scope {scope!r}",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
                required_scope=scope,
            )
        if centre and principal.department is not None:
            raise Problem(
                403,
                "Forbidden",
                "a department's token cannot run the hotline centre's commands",
                required_role="centre",
            )
        return principal

    return Security(dependency, scopes=[scope])
