"""The four OpenAPI documents as a contract a partner can generate a client from.

Built from each service's create_app() (no server: the lifespan is not entered). Each test
collects every offending operation of a service and names them all, `METHOD path: what is
missing`, so one run shows the whole gap.
"""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.runtime import auth
from shared.runtime.problems import MEDIA_TYPE
from tests.support import apps

Operation = tuple[str, str, dict[str, Any]]

# Operations open to callers without a token, each for its own reason.
PUBLIC_PREFIXES = {
    # GeoReport v2: anyone may read; POST requests checks the partner's api_key form field,
    # which OpenAPI cannot name as a security scheme (only header, query or cookie).
    ("intake", "/open311/"),
    ("intake", "/v1/progress/"),  # a citizen, with the last four digits of their phone
    ("feedback", "/v1/rating-links/"),  # a citizen, with the signed link texted to them
    # Signed checkpoints, their public key, consistency proofs and citizens' receipts:
    # public by design (hashes and positions only), checked offline by anyone.
    ("audit", "/v1/checkpoints"),
    ("audit", "/v1/receipts/"),
}
# Open311 answers every failure as GeoReport's `errors` document, never problem+json (see
# intake_service/open311/http.py): its errors must be documented with that real shape.
OWN_ERROR_FORMAT = ("/open311/",)
# The lists issue 11 names (with appeals and work orders): every one is paged.
PAGED = {
    "intake": {("GET", "/v1/appeals")},
    "dispatch": {("GET", "/v1/work-orders")},
    "feedback": {
        ("GET", "/v1/callbacks"),
        ("GET", "/v1/subscriptions"),
        ("GET", "/v1/subscriptions/{subscription_id}/deliveries"),
        ("GET", "/v1/appeals/{appeal_id}/notifications"),
    },
    "audit": {
        ("GET", "/v1/findings"),
        ("GET", "/v1/checkpoints"),
        ("GET", "/v1/measures"),
        ("GET", "/v1/flags"),
        ("GET", "/v1/departments/{department}/queue"),
    },
}


@pytest.fixture(scope="module")
def built() -> dict[str, FastAPI]:
    return {name: apps.build(name) for name in apps.NAMES}


@pytest.fixture(scope="module")
def documents(built: dict[str, FastAPI]) -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in built.items()}


def report(service: str, found: list[str]) -> str:
    return f"{service} breaks the contract in {len(found)} place(s):\n  " + "\n  ".join(found)


def component(document: dict[str, Any], ref: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1])
    )
    return found


def untyped(document: dict[str, Any], schema: dict[str, Any], seen: frozenset[str]) -> str | None:
    """Why `schema` does not type a body (None when it does): `{}` and `dict[str, Any]`
    (an object with no properties) say nothing a client generator can use."""
    if "$ref" in schema:
        ref = schema["$ref"]
        target = component(document, ref)
        if target is None:
            return f"$ref {ref} names no component"
        return None if ref in seen else untyped(document, target, seen | {ref})
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            reasons = (untyped(document, part, seen) for part in schema[combinator])
            return next((r for r in reasons if r is not None), None)
    kind = schema.get("type")
    if kind == "object":
        extra = schema.get("additionalProperties")
        if schema.get("properties"):
            return None
        if isinstance(extra, dict) and extra:
            return untyped(document, extra, seen)
        return "an object with no declared properties"
    if kind == "array":
        items = schema.get("items")
        return untyped(document, items, seen) if items else "an array of anything"
    if kind is None and "enum" not in schema and "const" not in schema:
        return "no schema (`{}`)"
    return None


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target = component(document, schema["$ref"])
        if target is None:
            return {}
        schema = target
    return schema


def public(service: str, path: str) -> bool:
    return any(service == s and path.startswith(prefix) for s, prefix in PUBLIC_PREFIXES)


def parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", [])}


@pytest.mark.parametrize("service", apps.NAMES)
def test_every_2xx_response_has_a_typed_schema(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document, found = documents[service], []
    for method, path, operation in apps.operations(document):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        if not successes:
            found.append(f"{method} {path}: documents no 2xx response")
        for status, response in successes.items():
            content = response.get("content", {})
            if status == "204":
                if content:
                    found.append(f"{method} {path}: 204 documents a body")
                continue
            if not content:
                found.append(f"{method} {path}: {status} documents no body")
            for media_type, body in content.items():
                reason = untyped(document, body.get("schema", {}), frozenset())
                if reason is not None:
                    found.append(f"{method} {path}: {status} {media_type} is untyped: {reason}")
    assert not found, report(service, found)


@pytest.mark.parametrize("service", apps.NAMES)
def test_every_error_is_documented_as_a_problem(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document, found = documents[service], []
    for method, path, operation in apps.operations(document):
        responses = operation["responses"]
        expected = {"500"}
        if operation.get("security"):
            expected |= {"401", "403"}
        if operation.get("parameters") or operation.get("requestBody"):
            # Open311 answers invalid input with its own 400 errors document, never a 422
            expected.add("400" if path.startswith(OWN_ERROR_FORMAT) else "422")
        if "cursor" in parameters(operation):
            expected.add("400")
        if "If-Match" in parameters(operation):
            expected.add("412")  # the runner answers a stale If-Match or a lost race so
        for status in sorted(expected - set(responses)):
            found.append(f"{method} {path}: no {status} response")
        for status, response in sorted(responses.items()):
            if status[0] not in "45":
                continue
            content = response.get("content", {})
            if path.startswith(OWN_ERROR_FORMAT):
                if MEDIA_TYPE in content or not content:
                    found.append(
                        f"{method} {path}: {status} must document Open311's errors document "
                        f"(its real shape), not {sorted(content) or 'nothing'}"
                    )
                for media_type, body in content.items():
                    reason = untyped(document, body.get("schema", {}), frozenset())
                    if reason is not None:
                        found.append(f"{method} {path}: {status} {media_type} untyped: {reason}")
                continue
            wanted = "ValidationProblem" if status == "422" else "ProblemDetails"
            if set(content) != {MEDIA_TYPE}:
                found.append(f"{method} {path}: {status} is {sorted(content)}, not [{MEDIA_TYPE}]")
            ref = content.get(MEDIA_TYPE, {}).get("schema", {}).get("$ref", "")
            if ref != f"#/components/schemas/{wanted}":
                found.append(f"{method} {path}: {status} body is {ref or 'no $ref'}, not {wanted}")
    assert not found, report(service, found)


@pytest.mark.parametrize("service", apps.NAMES)
def test_the_problem_shapes_are_the_real_ones(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    schemas = documents[service]["components"]["schemas"]
    problem = schemas["ProblemDetails"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["properties"])
    validation = schemas["ValidationProblem"]
    errors = validation["properties"]["errors"]
    assert errors["type"] == "array"
    assert errors["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert {"field", "message", "type"} <= set(schemas["FieldError"]["properties"])
    assert "errors" in validation["required"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422, which no route answers


@pytest.mark.parametrize("service", apps.NAMES)
def test_secured_operations_require_oauth2_scopes(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document, found = documents[service], []
    schemes = document.get("components", {}).get("securitySchemes", {})
    assert set(schemes) == {auth.SCHEME_NAME}, f"{service}: security schemes are {set(schemes)}"
    scheme = schemes[auth.SCHEME_NAME]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"].startswith("https://")
    declared = set(flow["scopes"])
    for method, path, operation in apps.operations(document):
        security = operation.get("security", [])
        if not security:
            if not public(service, path):
                found.append(f"{method} {path}: no security requirement (and not public)")
            elif "401" in operation["responses"]:
                # no token is asked for; a 403 may still be real (an unknown api_key, a
                # forged rating link), so only a 401 is out of place
                found.append(f"{method} {path}: public, yet documents 401")
            continue
        for requirement in security:
            if set(requirement) != {auth.SCHEME_NAME}:
                found.append(f"{method} {path}: requires {sorted(requirement)}, not OAuth2")
            scopes = requirement.get(auth.SCHEME_NAME, [])
            if not scopes:
                found.append(f"{method} {path}: OAuth2 without a scope")
            for scope in set(scopes) - declared:
                found.append(f"{method} {path}: scope {scope} is not declared by the scheme")
    assert not found, report(service, found)


@pytest.mark.parametrize("service", apps.NAMES)
def test_every_list_is_paged_with_a_cursor_next_and_link(
    documents: dict[str, dict[str, Any]], service: str
) -> None:
    document, found = documents[service], []
    listed = {(method, path): op for method, path, op in apps.operations(document)}
    for method, path in sorted(PAGED[service] - set(listed)):
        found.append(f"{method} {path}: a list issue 11 names is not in the document")
    for (method, path), operation in sorted(listed.items()):
        paged = "cursor" in parameters(operation)
        ok = operation["responses"].get("200", {})
        schema = resolved(
            document, ok.get("content", {}).get("application/json", {}).get("schema", {})
        )
        if (method, path) in PAGED[service] and not paged:
            found.append(f"{method} {path}: a list without a `cursor` parameter")
        if not paged:
            continue
        properties = schema.get("properties", {})
        if properties.get("items", {}).get("type") != "array" or "next" not in properties:
            found.append(f"{method} {path}: 200 body is not a page with `items` and `next`")
        if "Link" not in ok.get("headers", {}):
            found.append(f"{method} {path}: 200 does not document the `Link` header")
    assert not found, report(service, found)


ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
EXTERNAL = re.compile(r"""(?:https?:)?//[\w.-]+""")


@pytest.mark.parametrize("service", apps.NAMES)
async def test_the_docs_pages_load_nothing_from_elsewhere(
    built: dict[str, FastAPI], service: str
) -> None:
    transport = httpx.ASGITransport(built[service])
    async with httpx.AsyncClient(transport=transport, base_url="http://docs.test") as client:
        for page in ("/docs", "/redoc"):
            answer = await client.get(page)
            assert answer.status_code == 200, f"{service} {page}: {answer.status_code}"
            html = answer.text
            external = [m.group(0) for m in EXTERNAL.finditer(html)]
            assert not external, f"{service} {page} loads from elsewhere: {external}"
            assets = ASSET.findall(html)
            assert assets, f"{service} {page}: no assets found, is this the docs page?"
            for asset in assets:
                served = await client.get(asset)
                assert served.status_code == 200, f"{service} {page}: {asset} answers {served}"
        assert (await client.get("/openapi.json")).status_code == 200
