"""TokenVerifier checks a token's signature and claims once, then only its expiry."""

import asyncio
import http.server
import json
import threading
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared.runtime import auth
from shared.runtime.settings import ServiceSettings


def settings() -> ServiceSettings:
    return ServiceSettings(service_name="intake", database_url="postgresql+asyncpg://u@h/db")


def test_a_token_is_decoded_once_and_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = auth.TokenVerifier(settings())
    token = auth.mint(settings(), subject="operator:a", scopes=["appeals:write"], ttl_seconds=60)
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    first, again = verifier.verify(token), verifier.verify(token)
    assert first == again
    assert first.scopes == frozenset({"appeals:write"})
    assert decoded == [token]

    later = time.time() + 61 + auth.LEEWAY_SECONDS  # past the clocks' allowed difference
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(token)


def test_a_forged_token_is_refused_every_time() -> None:
    verifier = auth.TokenVerifier(settings())
    token = auth.mint(settings(), subject="operator:a", scopes=["appeals:write"])
    header, claims, _ = token.split(".")
    forged = f"{header}.{claims}.{'A' * 43}"
    for _ in range(2):
        with pytest.raises(jwt.InvalidSignatureError):
            verifier.verify(forged)


def test_clocks_a_little_apart_do_not_refuse_a_fresh_or_just_expired_token() -> None:
    verifier, now = auth.TokenVerifier(settings()), int(time.time())
    config = settings()

    def token(**claims: int) -> str:
        body = {"sub": "operator:a", "scope": "appeals:read", "iss": config.jwt_issuer,
                "aud": config.jwt_audience, **claims}  # fmt: skip
        return jwt.encode(body, config.jwt_secret.get_secret_value(), algorithm="HS256")

    # issued by a provider whose clock is 10 s ahead; expired 10 s ago by ours
    verifier.verify(token(iat=now + 10, nbf=now + 10, exp=now + 600))
    verifier.verify(token(iat=now - 600, exp=now - 10))
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(token(iat=now - 600, exp=now - auth.LEEWAY_SECONDS - 5))


class _SlowKeys(http.server.BaseHTTPRequestHandler):
    """An identity provider that answers for its keys only once the test lets it."""

    released = threading.Event()
    jwks = b""

    def do_GET(self) -> None:
        self.released.wait(timeout=5)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.jwks)

    def log_message(self, *args: Any) -> None:
        pass


async def test_fetching_the_providers_keys_does_not_hold_up_the_event_loop() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    _SlowKeys.jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig"}]}).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowKeys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = ServiceSettings(
            service_name="intake",
            database_url="postgresql+asyncpg://u@h/db",
            jwt_jwks_url=f"http://127.0.0.1:{server.server_address[1]}/jwks",
        )
        now = int(time.time())
        claims = {"sub": "operator:a", "scope": "appeals:read", "iss": config.jwt_issuer,
                  "aud": config.jwt_audience, "exp": now + 600}  # fmt: skip
        token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})
        verifier = auth.TokenVerifier(config)
        verifying = asyncio.create_task(verifier.verify_async(token))
        await asyncio.sleep(0.05)  # the loop runs on while the keys are on their way
        assert not verifying.done()
        _SlowKeys.released.set()
        principal = await asyncio.wait_for(verifying, timeout=10)
        # verified once: later requests with it are answered on the loop, no thread, no fetch
        server.shutdown()

        def no_thread(*args: Any) -> Any:
            raise AssertionError("a known token went to the thread pool")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(auth, "run_in_threadpool", no_thread)
            assert await verifier.verify_async(token) == principal
    finally:
        _SlowKeys.released.set()
        server.shutdown()
        server.server_close()
    assert principal.subject == "operator:a"
