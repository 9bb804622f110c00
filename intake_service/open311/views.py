"""The JSON form of Open311's documents, as response models for the OpenAPI contract (the
routes render them with `formats`, as XML or JSON by the path's suffix; the XML form is the
same document, the root element wrapping it)."""

from typing import Any, Final, Literal

from fastapi import FastAPI
from pydantic import BaseModel

from intake_service.catalogue import Datatype
from shared.runtime.openapi import RETRY_AFTER


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class ServiceEntry(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class AttributeValue(BaseModel):
    key: str
    name: str


class AttributeEntry(BaseModel):
    variable: bool
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] | None = None


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[AttributeEntry]


class Created(BaseModel):
    service_request_id: str
    service_notice: str


class Note(BaseModel):
    datetime: str
    description: str
    type: str


class ServiceRequest(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    extended_attributes: dict[str, Any] | None = None  # extensions=true
    notes: list[Note] | None = None  # extensions=true


class RequestUpdate(BaseModel):
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str
    description: str
    media_url: str | None
    external_status_code: str


class Failure(BaseModel):
    code: int
    description: str


def document(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an Open311 route: its 200 in JSON (`model`) and as XML."""
    xml = {"text/xml": {"schema": {"type": "string", "description": "the same, as XML"}}}
    return {200: {"model": model, "description": description, "content": xml}}


def _strings(*names: str) -> dict[str, Any]:
    return {name: {"type": "string"} for name in names}


# Open311 reads its parameters itself (a form body, raw query strings), so they are declared
# here for the contract: `openapi_extra=` of the route.
FORM: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": _strings(
                        "api_key",
                        "jurisdiction_id",
                        "service_code",
                        "lat",
                        "long",
                        "address_string",
                        "address_id",
                        "description",
                        "first_name",
                        "last_name",
                        "phone",
                        "media_url",
                    ),
                    "additionalProperties": {
                        "type": "string",
                        "description": "attribute[CODE] or attribute[CODE][] values",
                    },
                }
            }
        },
    }
}


def query(*names: str) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in names
        ]
    }


_ERRORS: Final = {
    "400": "a parameter is missing or invalid",
    "403": "api_key missing or not recognised",
    "404": "no such resource, jurisdiction or format",
    "500": "the server failed; try again later",
}
_POST_ERRORS: Final = {
    "413": "the body is larger than the limit",
    "429": "too many requests for this api_key (or unknown keys from this client)",
}


def own_errors(app: FastAPI) -> None:
    """Document Open311's refusals as they are answered: its `errors` document in the path's
    format, never problem+json, and never a 422 (a malformed parameter is a 400 there).
    The runtime documents every other route's errors as problem+json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Failure", Failure.model_json_schema())
        errors = {"type": "array", "items": {"$ref": "#/components/schemas/Failure"}}
        for path, item in document["paths"].items():
            if not path.startswith("/open311/"):
                continue
            for operation in item.values():
                operation["responses"].pop("422", None)
                extra = _POST_ERRORS if operation is item.get("post") else {}
                for status, description in {**_ERRORS, **extra}.items():
                    operation["responses"][status] = {
                        "description": f"Open311 errors: {description}",
                        "content": {
                            "application/json": {"schema": errors},
                            "text/xml": {"schema": {"type": "string"}},
                        },
                    } | ({"headers": RETRY_AFTER} if status == "429" else {})
        return document

    app.openapi = openapi  # type: ignore[method-assign]
