"""The OpenAPI document as a contract a partner can generate a client from: every error is
documented as application/problem+json with its real shape, the 422 with its `errors` list,
every secured operation with 401/403 and the OAuth2 scopes it requires, and the token URL the
deployment names."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.runtime import auth
from shared.runtime.problems import MEDIA_TYPE, ProblemDetails, ValidationProblem

_TITLES = {
    400: "The request is malformed: a body that is not JSON, or a cursor this API did not issue",
    401: "No valid bearer token",
    403: "The token lacks the scope or role this operation requires",
    404: "No such resource, or none the caller may see",
    409: "The resource is in a state that does not allow this",
    410: "Gone: the link has expired",
    412: "If-Match names a version the resource is no longer at",
    413: "The request body is too large",
    422: "Invalid fields; `errors` names each one",
    428: "If-Match is required: send the ETag of the resource you decided on",
    429: "Too many requests: retry after `Retry-After` seconds",
    500: "The request failed; nothing was changed",
}


RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds until the limit lets a request through again",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def problem(status: int, description: str | None = None) -> dict[int | str, dict[str, Any]]:
    """A `responses=` entry for a route: `responses={**problem(404), **problem(409)}`."""
    model = ValidationProblem if status == 422 else ProblemDetails
    return {
        status: {
            "model": model,
            "description": description or _TITLES.get(status, "Error"),
            "content": {MEDIA_TYPE: {}},
        }
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    found: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        found.update(problem(status))
    return found


def install(app: FastAPI, *, token_url: str) -> None:
    """Replace app.openapi with one that completes every operation's error responses."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _complete(document, token_url=token_url)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _complete(document: dict[str, Any], *, token_url: str) -> None:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for name, model in (
        ("ProblemDetails", ProblemDetails),
        ("ValidationProblem", ValidationProblem),
    ):
        components.setdefault(
            name, model.model_json_schema(ref_template="#/components/schemas/{model}")
        )
    components.setdefault(
        "FieldError",
        ValidationProblem.model_json_schema(ref_template="#/components/schemas/{model}")
        .get("$defs", {})
        .get("FieldError", {}),
    )
    components["ValidationProblem"].pop("$defs", None)
    scopes: dict[str, str] = {}
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                scopes.update(_complete_operation(operation))
    schemes = document["components"].get("securitySchemes", {})
    if auth.SCHEME_NAME in schemes:
        flow = schemes[auth.SCHEME_NAME]["flows"]["clientCredentials"]
        flow["tokenUrl"] = token_url
        flow["scopes"] = dict(sorted(scopes.items()))


def _complete_operation(operation: dict[str, Any]) -> dict[str, str]:
    responses: dict[str, Any] = operation["responses"]
    required = [
        scope
        for requirement in operation.get("security", [])
        for scope in requirement.get(auth.SCHEME_NAME, [])
    ]
    wanted = {"500"}
    if required:  # failed token checks are rate-limited per client: 429
        wanted |= {"401", "403", "429"}
    if operation.get("parameters") or operation.get("requestBody"):
        wanted.add("422")
    if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
        wanted.add("400")
    if "requestBody" in operation:
        wanted.add("400")  # a body that is not JSON at all
    for status in sorted(wanted | {s for s in responses if s[0] in "45"}):
        ref = "ValidationProblem" if status == "422" else "ProblemDetails"
        declared = responses.get(status, {})
        responses[status] = {
            "description": declared.get("description") or _TITLES.get(int(status), "Error"),
            "content": {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        } | ({"headers": declared["headers"]} if "headers" in declared else {})
        if status == "429":
            responses[status]["headers"] = RETRY_AFTER
    if required:
        operation.setdefault("description", "")
        operation["description"] = (
            operation["description"] + f"\n\nRequires the scope {', '.join(required)}."
        ).strip()
    return {scope: f"granted to callers that {scope.replace(':', ' ')}" for scope in required}
