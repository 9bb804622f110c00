"""A time in a query is aware and has a place in UTC: 0001-01-01T00:00+14:00 does not (it is
before the first UTC instant), and was a 500 once the driver converted it. Each is refused
up front as problem+json, before any route reads the database."""

import types
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from services.cli import OPERATOR_SCOPES
from shared.runtime import auth
from tests.support import apps
from tests.unit.test_roles import _settings

BEFORE_UTC = "0001-01-01T00:00:00+14:00"
AUDIT = ["audit:read"]
ASKED = [
    ("audit", "/v1/departments/water/queue", "at", AUDIT),
    ("audit", "/v1/hot-spots", "at", AUDIT),
    ("audit", "/v1/appeals/3f1c2a7e-1234-4bcd-9e8f-123456789012/history", "known_at", AUDIT),
    ("intake", "/v1/appeals", "since", OPERATOR_SCOPES),
    ("feedback", "/v1/callbacks", "due_by", OPERATOR_SCOPES),
    ("dispatch", "/v1/sla-policy", "at", OPERATOR_SCOPES),
]


@pytest.mark.parametrize(("service", "path", "name", "scopes"), ASKED)
@pytest.mark.parametrize("value", [BEFORE_UTC, "2026-10-09T08:30:00"])  # and a naive one
async def test_a_time_without_a_place_in_utc_is_a_422(
    service: str, path: str, name: str, scopes: list[str], value: str
) -> None:
    app = apps.build(service)
    settings = _settings(service)
    app.state.runtime = types.SimpleNamespace(settings=settings)
    token = auth.mint(settings, subject="operator:times", scopes=list(scopes))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://t"
    ) as client:
        answer = await client.get(f"{path}?{urlencode({name: value})}", headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert [e["field"] for e in problem["errors"]] == [f"query.{name}"]
