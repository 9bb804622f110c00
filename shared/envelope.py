"""The wire format: CloudEvents attribute names plus the stream's version and hash chain.

The canonical bytes produced here are what is stored, published and hashed, so a fact's
hash can be recomputed by anyone holding the bytes (sha256 over them, no re-serialising).
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import events, upcasting

State = TypeVar("State")

GENESIS_HASH: Final = "0" * 64
_ENVELOPE_FIELDS: Final = frozenset(events.Event.model_fields)


class DecodeError(ValueError):
    """The bytes are not a fact this code can read; the consumer parks them."""


class WireEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    specversion: str
    id: UUID
    type: str
    source: str
    subject: UUID
    time: str
    datacontenttype: str
    schema_version: int = Field(ge=1)
    version: int = Field(ge=1)  # a stream's first fact is version 1
    causation_id: UUID | None
    correlation_id: UUID
    actor: str
    prev_hash: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recorded:
    """A fact as stored: the event plus its place in its stream's hash chain."""

    event: events.Event
    source: str
    version: int
    prev_hash: str
    hash: str
    body: bytes


def fold(
    stream: Sequence[Recorded], evolve: Callable[[State, events.Event], State], initial: State
) -> tuple[State, int]:
    """A stream as loaded folded through `evolve`: the state and the stream's version."""
    state, version = initial, 0
    for recorded in stream:
        state, version = evolve(state, recorded.event), recorded.version
    return state, version


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def encode(event: events.Event, *, version: int, prev_hash: str) -> Recorded:
    fields = event.model_dump(mode="json")
    data = {k: v for k, v in fields.items() if k not in _ENVELOPE_FIELDS}
    wire = {
        "specversion": "1.0",
        "id": fields["id"],
        "type": event.type,
        "source": event.source,
        "subject": fields["subject"],
        "time": fields["time"],
        "datacontenttype": "application/json",
        "schema_version": event.schema_version,
        "version": version,
        "causation_id": fields["causation_id"],
        "correlation_id": fields["correlation_id"],
        "actor": event.actor,
        "prev_hash": prev_hash,
        "data": data,
    }
    body = canonical_json(wire)
    return Recorded(event, event.source, version, prev_hash, digest(body), body)


def decode(body: bytes) -> Recorded:
    wire, event = _validated(body)
    return Recorded(event, wire.source, wire.version, wire.prev_hash, digest(body), body)


def check(body: bytes) -> None:
    """Raise DecodeError where `decode` would, by the same validation, without hashing the
    bytes: a replay has each fact's hash already, and rehashing cost a tenth of a decode."""
    _validated(body)


def _validated(body: bytes) -> tuple[WireEnvelope, events.Event]:
    try:
        wire = WireEnvelope.model_validate_json(body)
        model = events.EVENT_TYPES.get(wire.type)
        if model is None:
            raise DecodeError(f"unknown event type {wire.type!r}")
        if model.source != wire.source:
            raise DecodeError(f"{wire.type} must come from {model.source}, not {wire.source}")
        data = upcasting.upcast(
            wire.type, wire.schema_version, wire.data, current=model.schema_version
        )
        event = model.model_validate(
            {
                **data,
                "type": wire.type,
                "id": wire.id,
                "subject": wire.subject,
                "time": wire.time,
                "actor": wire.actor,
                "causation_id": wire.causation_id,
                "correlation_id": wire.correlation_id,
            }
        )
    except (ValidationError, upcasting.UpcastError) as exc:
        raise DecodeError(str(exc)) from exc
    return wire, event


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every event type's model, by type name (for the AsyncAPI document)."""
    return {name: model.model_json_schema() for name, model in events.EVENT_TYPES.items()}
