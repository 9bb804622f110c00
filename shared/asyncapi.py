"""The AsyncAPI 3.0 document of every fact on the wire, generated from the contracts.

`python -m shared.asyncapi > docs/asyncapi.json` writes it; a test fails when the committed
document and the contracts drift apart.
"""

import json
from typing import Any

from shared import events, topics

ENVELOPE: dict[str, Any] = {
    "specversion": {"const": "1.0"},
    "id": {"type": "string", "format": "uuid"},
    "source": {"type": "string", "description": "the service that owns the fact"},
    "subject": {"type": "string", "format": "uuid", "description": "the appeal id (Kafka key)"},
    "time": {"type": "string", "format": "date-time"},
    "datacontenttype": {"const": "application/json"},
    "schema_version": {"type": "integer", "minimum": 1},
    "version": {"type": "integer", "minimum": 1, "description": "position in its stream"},
    "causation_id": {"type": ["string", "null"], "format": "uuid"},
    "correlation_id": {"type": "string", "format": "uuid"},
    "actor": {"type": "string"},
    "prev_hash": {
        "type": "string",
        "pattern": "^[0-9a-f]{64}$",
        "description": "sha256 of the stream's previous fact's bytes (64 zeros first)",
    },
}
_ENVELOPE_FIELDS = frozenset(events.Event.model_fields)


def _payload(model: type[events.Event]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    data = {k: v for k, v in schema["properties"].items() if k not in _ENVELOPE_FIELDS}
    required = [k for k in schema.get("required", []) if k not in _ENVELOPE_FIELDS]
    type_name = model.model_fields["type"].default
    return {
        "definitions": definitions,
        "payload": {
            "type": "object",
            "description": (model.__doc__ or "").strip(),
            "required": [*ENVELOPE, "type", "data"],
            "properties": {
                **ENVELOPE,
                "type": {"const": type_name},
                "source": {"const": model.source},
                "schema_version": {"const": model.schema_version},
                "data": {
                    "type": "object",
                    "properties": data,
                    "required": required,
                    "additionalProperties": False,
                },
            },
        },
    }


def document() -> dict[str, Any]:
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for source, address in topics.BY_SOURCE.items():
        channels[source] = {"address": address, "messages": {}}
        operations[f"{source}-publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{source}"},
        }
    for type_name, model in sorted(events.EVENT_TYPES.items()):
        built = _payload(model)
        schemas.update(built["definitions"])
        messages[type_name] = {
            "name": type_name,
            "contentType": "application/json",
            "payload": built["payload"],
        }
        channels[model.source]["messages"][type_name] = {
            "$ref": f"#/components/messages/{type_name}"
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "12345 hotline facts",
            "version": "1.0.0",
            "description": "Every fact the services publish: CloudEvents attribute names, "
            "keyed by appeal id, one topic per owning service.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
