"""Open311 documents as XML or JSON. JSON is the XML mapped mechanically: the root wrapper
dropped, repeated elements as arrays. Pure."""

import json
from typing import Any, Final, Literal
from xml.etree import ElementTree as ET

Format = Literal["xml", "json"]
CONTENT_TYPES: Final[dict[Format, str]] = {
    "xml": "text/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}
DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
# A list in JSON is, in XML, a container whose children are all named alike.
ITEM: Final = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "service_request_updates": "request_update",
    "notes": "note",
}


def fmt_of(suffix: str) -> Format | None:
    return "json" if suffix == "json" else "xml" if suffix == "xml" else None


def render(fmt: Format, root: str, document: dict[str, Any] | list[Any]) -> bytes:
    """`root` names the XML root element (`services`, `service_requests`, `discovery`…)."""
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False).encode("utf-8")
    return (DECLARATION + ET.tostring(_element(root, document), encoding="unicode")).encode("utf-8")


def _element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_element(k, v) for k, v in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEM[tag], v) for v in value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element
