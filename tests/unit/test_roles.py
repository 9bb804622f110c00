"""Every route of the four apps against every role, through the real authorisation path.

Each route is called in-process (the app as create_app builds it, settings loaded, no
database) with each role's token. A refusal is 401 or 403 (for the auditor's pages, a
redirect to their login): it comes before the route touches anything, so no database is
needed to see it. Anything else (422, 404, or a failure because there is no database behind
the stub) means the role got past authorisation. POLICY decides, per route, which roles may:
a route missing from it (a new one) fails the test until someone decides.
"""

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, Final

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from feedback_service.domain import links
from feedback_service.settings import FeedbackSettings
from services.catalog import SERVICES
from services.cli import DEPARTMENT_SCOPES, OPERATOR_SCOPES
from shared.runtime import auth
from tests.support import apps

OPERATOR, DEPT_A, DEPT_B = "centre operator", "department A", "department B (every scope)"
PARTNER, AUDITOR, AUDITOR_PD, NOBODY = "partner", "auditor", "auditor + personal data", "none"
ROLES: Final = (OPERATOR, DEPT_A, DEPT_B, PARTNER, AUDITOR, AUDITOR_PD, NOBODY)
ALL: Final = frozenset(ROLES)
API_KEY = "roles-key"

# Who may, by what they are for (not by what happens to work today).
READ_APPEALS = frozenset({OPERATOR, DEPT_A, DEPT_B})  # departments: their own appeals only
CENTRE = frozenset({OPERATOR})  # the hotline centre's commands: never a department
DEPARTMENTS = frozenset({DEPT_A, DEPT_B})  # a department's own work: sign, return, reply
AUDITORS = frozenset({OPERATOR, DEPT_B, AUDITOR, AUDITOR_PD})  # audit:read, by scope
SUBSCRIBERS = frozenset({PARTNER, DEPT_B})  # subscriptions:write, by scope
FILERS = frozenset({OPERATOR, PARTNER})  # appeals:write, never a department
NOBODY_HERE: frozenset[str] = frozenset()

FRONT_OFFICE = ("classification", "forwarding", "answer", "transfer", "rejection", "merge")
DECISIONS = ("returns/decision", "extensions/decision", "supervision", "reassignment", "closure")
PUBLIC_ROUTES = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
HEALTH = ("/healthz", "/livez", "/readyz", "/metrics")

POLICY: Final[dict[tuple[str, str, str], frozenset[str]]] = {
    **{(s, "GET", p): ALL for s in apps.NAMES for p in (*PUBLIC_ROUTES, *HEALTH)},
    **{(s, "HEAD", "/openapi.json"): ALL for s in apps.NAMES},
    # intake
    ("intake", "POST", "/v1/appeals"): FILERS,
    ("intake", "GET", "/v1/appeals"): READ_APPEALS,
    ("intake", "GET", "/v1/appeals/{appeal_id}"): READ_APPEALS,
    ("intake", "GET", "/v1/progress/{appeal_id}"): ALL,  # the citizen's: id + phone digits
    **{("intake", "POST", f"/v1/appeals/{{appeal_id}}/{c}"): CENTRE for c in FRONT_OFFICE},
    ("intake", "POST", "/v1/appeals/{appeal_id}/unmerge"): CENTRE,
    ("intake", "GET", "/v1/catalogue"): READ_APPEALS,
    ("intake", "PUT", "/v1/catalogue"): CENTRE,
    ("intake", "PUT", "/v1/knowledge/articles/{article_id}"): CENTRE,
    ("intake", "GET", "/v1/knowledge/articles/{article_id}"): READ_APPEALS,
    ("intake", "GET", "/v1/knowledge/articles/{article_id}/versions"): READ_APPEALS,
    ("intake", "GET", "/v1/knowledge/search"): READ_APPEALS,
    ("intake", "GET", "/v1/emergency-queue"): CENTRE,
    # personal-data:erase and :keys are in no role's token here: a privacy officer's and the
    # services' own; a department's token never reaches them, whatever it carries
    ("intake", "POST", "/v1/erasures"): NOBODY_HERE,
    ("intake", "GET", "/v1/erasures/{erasure_id}"): NOBODY_HERE,
    ("intake", "GET", "/v1/citizen-keys/{key_id}"): NOBODY_HERE,
    ("intake", "GET", "/v1/access-log"): AUDITORS,  # audit:read, as audit's own access log
    # Open311: public by the specification (POST with a partner's api_key, not a token)
    **{
        ("intake", m, f"/open311/v2/{p}"): ALL
        for m, p in (
            ("GET", "discovery.{suffix}"),
            ("GET", "services.{suffix}"),
            ("GET", "services/{service_code}.{suffix}"),
            ("POST", "requests.{suffix}"),
            ("GET", "requests.{suffix}"),
            ("GET", "requests/{service_request_id}.{suffix}"),
            ("GET", "tokens.{suffix}"),
            ("GET", "tokens/{token}.{suffix}"),
            ("GET", "servicerequestupdates.{suffix}"),
        )
    },
    **{("intake", m, "/open311/v2/{anything:path}"): ALL for m in ("GET", "POST", "PUT")},
    **{("intake", m, "/open311/v2/{anything:path}"): ALL for m in ("PATCH", "DELETE")},
    # dispatch
    ("dispatch", "GET", "/v1/work-orders"): READ_APPEALS,
    ("dispatch", "GET", "/v1/work-orders/{appeal_id}"): READ_APPEALS,
    **{
        ("dispatch", "POST", f"/v1/work-orders/{{appeal_id}}/{c}"): DEPARTMENTS
        for c in ("sign-for", "returns", "extensions", "assists")
    },
    **{("dispatch", "POST", f"/v1/work-orders/{{appeal_id}}/{c}"): CENTRE for c in DECISIONS},
    ("dispatch", "GET", "/v1/departments"): READ_APPEALS,
    ("dispatch", "GET", "/v1/routing"): READ_APPEALS,
    ("dispatch", "PUT", "/v1/routing"): CENTRE,
    ("dispatch", "GET", "/v1/sla-policy"): READ_APPEALS,
    ("dispatch", "PUT", "/v1/sla-policy"): CENTRE,
    ("dispatch", "GET", "/v1/sla-policy/versions"): READ_APPEALS,
    ("dispatch", "GET", "/v1/calendar"): READ_APPEALS,
    ("dispatch", "GET", "/v1/calendar/versions"): READ_APPEALS,
    ("dispatch", "PUT", "/v1/calendar/years/{year}"): CENTRE,
    # feedback
    ("feedback", "POST", "/v1/appeals/{appeal_id}/replies"): DEPARTMENTS,
    ("feedback", "POST", "/v1/appeals/{appeal_id}/reviews"): CENTRE,
    ("feedback", "POST", "/v1/appeals/{appeal_id}/ratings"): CENTRE,
    ("feedback", "POST", "/v1/appeals/{appeal_id}/callbacks"): CENTRE,
    ("feedback", "POST", "/v1/appeals/{appeal_id}/rating-links"): CENTRE,
    ("feedback", "GET", "/v1/callbacks"): READ_APPEALS,
    ("feedback", "GET", "/v1/appeals/{appeal_id}/feedback"): READ_APPEALS,
    ("feedback", "GET", "/v1/appeals/{appeal_id}/notifications"): CENTRE,
    ("feedback", "GET", "/v1/notice-failures"): CENTRE,
    ("feedback", "GET", "/v1/leadership-notice-failures"): CENTRE,
    ("feedback", "GET", "/v1/leadership-channels"): CENTRE,
    ("feedback", "PUT", "/v1/departments/{department}/leadership-channel"): CENTRE,
    ("feedback", "DELETE", "/v1/departments/{department}/leadership-channel"): CENTRE,
    ("feedback", "GET", "/v1/calendar"): READ_APPEALS,
    ("feedback", "GET", "/v1/rating-links/{token}"): ALL,  # the signed link is the key
    ("feedback", "POST", "/v1/rating-links/{token}"): ALL,
    ("feedback", "POST", "/v1/subscriptions"): SUBSCRIBERS,
    ("feedback", "GET", "/v1/subscriptions"): SUBSCRIBERS,
    ("feedback", "DELETE", "/v1/subscriptions/{subscription_id}"): SUBSCRIBERS,
    ("feedback", "GET", "/v1/subscriptions/{subscription_id}/deliveries"): SUBSCRIBERS,
    # audit: by scope (the centre's operator token carries audit:read and audit:replay)
    **{
        ("audit", "GET", p): AUDITORS
        for p in (
            "/v1/appeals/{appeal_id}/history",
            "/v1/exports/facts.{fmt}",
            "/v1/findings",
            "/v1/facts/{event_id}/proof",
            "/v1/replays/{replay_id}",
            "/v1/measures",
            "/v1/flags",
            "/v1/departments/{department}/queue",
            "/v1/access-log",
            "/v1/conduct",
            "/v1/hot-spots",
            "/v1/kpi-rules",
            "/v1/kpi-rules/{name}",
            "/v1/switch-overs",
            "/ui/appeals/{appeal_id}",
            "/ui/ranking",
        )
    },
    ("audit", "POST", "/v1/checkpoints"): AUDITORS,
    ("audit", "PUT", "/v1/kpi-rules/{name}"): CENTRE,  # audit:rules, never a department
    # what outsiders check the hotline with: signed checkpoints, proofs, receipts, the key
    **{
        ("audit", "GET", p): ALL
        for p in (
            "/v1/checkpoints",
            "/v1/checkpoints/{size}",
            "/v1/checkpoints/consistency",
            "/v1/checkpoints/public-key",
            "/v1/receipts/{fact_hash}",
        )
    },
    ("audit", "POST", "/v1/replays"): AUDITORS,
    ("audit", "GET", "/ui/login"): ALL,
    ("audit", "POST", "/ui/login"): AUDITORS,  # a token without audit:read logs in nowhere
    ("audit", "POST", "/ui/logout"): ALL,
}

_EVERY_SCOPE = sorted(
    {*OPERATOR_SCOPES, *DEPARTMENT_SCOPES, "audit:personal-data", "subscriptions:write"}
)
TOKENS: Final[dict[str, dict[str, Any]]] = {
    OPERATOR: {"subject": "operator:roles", "scopes": OPERATOR_SCOPES},
    DEPT_A: {"subject": "department:water", "scopes": DEPARTMENT_SCOPES, "department": "water"},
    DEPT_B: {"subject": "department:power", "scopes": _EVERY_SCOPE, "department": "power"},
    PARTNER: {"subject": "partner:roles", "scopes": ["appeals:write", "subscriptions:write"]},
    AUDITOR: {"subject": "auditor:roles", "scopes": ["audit:read", "audit:replay"]},
    AUDITOR_PD: {
        "subject": "auditor:pd",
        "scopes": ["audit:read", "audit:replay", "audit:personal-data"],
    },
}


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(METHOD, path) of every route the app answers, through included routers."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            context = getattr(route, "include_context", None)
            if context is not None:
                yield from walk(context.included_router.routes, prefix + context.prefix)
            elif isinstance(route, Route):
                for method in sorted(route.methods or ()):
                    yield method, prefix + route.path

    yield from walk(app.routes, "")


def _settings(name: str) -> Any:
    partners = json.dumps({API_KEY: "roles-partner"})
    return SERVICES[name].settings(
        database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused",
        georeport_api_keys=partners,
    )


def _rating_link() -> str:
    key = FeedbackSettings(database_url="x://y").rating_link_key()
    assert key is not None
    claims = links.LinkClaims(uuid.uuid4(), 1, datetime.now(UTC) + timedelta(days=1), "n0nce")
    return links.sign(key, claims)


_VALUES: Final = {
    "suffix": "json",
    "fmt": "jsonl",
    "service_code": "water.outage",
    "article_id": "a-1",
    "replay_id": "1",
    "department": "water",
    "anything:path": "nothing/here",
}


def _concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if path.startswith("/v1/rating-links") and name == "token":
            return _rating_link()
        return _VALUES.get(name, str(uuid.uuid4()))

    return re.sub(r"\{([^}]+)\}", value, path)


def _minted(role: str) -> str | None:
    if role == NOBODY:
        return None
    settings = _settings("intake")
    return auth.mint(settings, **TOKENS[role])


def _refused(method: str, path: str, response: httpx.Response) -> bool:
    """401 or 403; for an auditor's page, being sent to the login form instead."""
    if method == "GET" and path.startswith("/ui/") and response.status_code in {302, 303, 307}:
        return str(response.headers.get("location", "")).startswith("/ui/login")
    return response.status_code in {401, 403}


def _lacks_scope(response: httpx.Response) -> bool:
    if response.status_code != 403 or "json" not in response.headers.get("content-type", ""):
        return False
    return "required_scope" in response.json()


def _request(method: str, path: str, token: str | None) -> dict[str, Any]:
    headers: dict[str, str] = {}
    if token is not None:
        if path.startswith("/ui/"):  # the auditor's pages take the token from their cookie
            headers["Cookie"] = f"hotline_audit_token={token}"
        else:
            headers["Authorization"] = f"Bearer {token}"
    if path.startswith("/open311/") and method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return {"headers": headers, "content": f"api_key={API_KEY}"}
    if path == "/ui/login" and method == "POST":
        return {"headers": headers, "data": {"token": token or ""}}
    body: dict[str, Any] = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
    return {"headers": headers, **body}


@pytest.fixture(scope="module")
def built() -> dict[str, FastAPI]:
    found = {}
    for name in apps.NAMES:
        app = apps.build(name)
        # No database: a refusal needs none, and what gets past it fails on the stub.
        app.state.runtime = SimpleNamespace(settings=_settings(name))
        found[name] = app
    return found


def test_every_route_has_a_decided_policy(built: dict[str, FastAPI]) -> None:
    routes = {(name, m, p) for name, app in built.items() for m, p in _routes(app)}
    undecided = sorted(routes - set(POLICY))
    assert not undecided, f"decide who may call these (POLICY in {__name__}): {undecided}"
    assert not sorted(set(POLICY) - routes), "POLICY names routes that no longer exist"


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_reaches_exactly_the_routes_its_policy_allows(
    built: dict[str, FastAPI], role: str
) -> None:
    token = _minted(role)
    wrong: list[str] = []
    for name, app in built.items():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for method, path in sorted(set(_routes(app))):
                if (name, method, path) not in POLICY:
                    continue  # the test above names it
                try:
                    response = await client.request(
                        method, _concrete(path), **_request(method, path, token)
                    )
                    refused = _refused(method, path, response)
                    status = str(response.status_code)
                    if _lacks_scope(response):  # RFC 6750 §3.1 says which scope to get
                        scope = response.json()["required_scope"]
                        challenge = response.headers.get("WWW-Authenticate", "")
                        if challenge != f'Bearer error="insufficient_scope", scope="{scope}"':
                            wrong.append(f"{name} {method} {path}: 403 challenge {challenge!r}")
                except Warning:
                    raise
                except Exception as exc:  # failed past authorisation, on the missing database
                    refused, status = False, type(exc).__name__
                allowed = role in POLICY[(name, method, path)]
                if refused == allowed:
                    verdict = "refused" if refused else "let through"
                    wrong.append(f"{name} {method} {path}: {verdict} ({status})")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
