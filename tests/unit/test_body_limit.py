"""Bodies are limited before authentication and parsing, and deeply nested JSON is a client
error: exercised on the real apps in-process (no server needed to refuse)."""

from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest

from services.catalog import SERVICES
from shared.runtime import bodylimit
from tests.support import apps
from tests.support.processes import bearer

LIMIT = bodylimit.DEFAULT_LIMIT


def _client(name: str) -> httpx.AsyncClient:
    app = apps.build(name)
    # No lifespan, no database: a refusal before any route runs needs none, and the routes
    # tried here fail (or not) on their body before they touch more than the settings.
    app.state.runtime = SimpleNamespace(settings=SERVICES[name].settings(database_url="x://y"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 4096 + 1):
        yield b"x" * 4096


@pytest.mark.parametrize("name", apps.NAMES)
async def test_a_body_over_the_limit_is_a_413_before_the_token_is_looked_at(name: str) -> None:
    async with _client(name) as client:
        declared = await client.post("/v1/anything", content=b"x" * (LIMIT + 1))
        within = await client.post("/v1/anything", content=b"x" * LIMIT)
    assert declared.status_code == 413, declared.text
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["status"] == 413
    assert within.status_code == 404  # at the limit: on to routing


async def test_a_streamed_body_is_counted_and_refused_with_413_before_the_token() -> None:
    # No Content-Length: only counting what streams in can tell. FastAPI reads the body
    # before it resolves the token, and the count stops it there.
    async with _client("intake") as client:
        answer = await client.post(
            "/v1/appeals",
            content=_chunks(LIMIT * 2),
            headers={"Content-Type": "application/json", "Authorization": "Bearer forged"},
        )
    assert answer.status_code == 413, answer.text
    assert answer.json()["title"] == "Content Too Large"
    async with _client("intake") as client:
        open311 = await client.post(
            "/open311/v2/requests.json",
            content=_chunks(LIMIT * 2),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert open311.status_code == 413, open311.text
    assert open311.json()[0]["code"] == 413  # Open311's own errors document


async def test_a_route_that_needs_more_has_its_own_limit() -> None:
    async def nothing(*_: object) -> None:
        return None

    limit = bodylimit.BodyLimit(nothing, larger={"/v1/catalogue": 1024 * 1024})
    assert limit.limit_of("/v1/catalogue") == 1024 * 1024
    assert limit.limit_of("/v1/appeals") == LIMIT


@pytest.mark.parametrize("depth", [50, 900, 5000, 30000])
async def test_deeply_nested_json_is_a_client_error_never_a_500(depth: int) -> None:
    body = (
        '{"channel": "phone", "appeal_type": "help", "content": "x", "citizen": '
        + ("[" * depth + "]" * depth)
        + "}"
    )
    async with _client("intake") as client:
        answer = await client.post(
            "/v1/appeals",
            content=body.encode(),
            headers={"Content-Type": "application/json", **bearer("appeals:write")},
        )
    assert answer.status_code in {400, 413, 422}, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
