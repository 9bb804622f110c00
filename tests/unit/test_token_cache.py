"""TokenVerifier checks a token's signature and claims once, then only its expiry."""

import time
from typing import Any

import jwt
import pytest

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

    later = time.time() + 61
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
