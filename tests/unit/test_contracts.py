import json
from collections.abc import Callable
from pathlib import Path

import pytest

from shared import asyncapi, envelope, events, upcasting
from tests.unit import factories


def _one_of_each() -> list[events.Event]:
    history = factories.full_history()
    return [
        *history,
        *factories.intake_facts(history[0]),
        *factories.dispatch_facts(history[1]),
        *factories.feedback_facts(history[2]),
    ]


@pytest.mark.parametrize("event", _one_of_each(), ids=lambda e: e.type)
def test_every_event_round_trips_through_the_wire_format(event: events.Event) -> None:
    recorded = envelope.encode(event, version=3, prev_hash="a" * 64)
    decoded = envelope.decode(recorded.body)
    assert decoded.event == event
    assert (decoded.version, decoded.prev_hash, decoded.hash) == (3, "a" * 64, recorded.hash)
    assert decoded.source == event.source


def test_every_event_type_is_covered_by_the_round_trip() -> None:
    assert {e.type for e in _one_of_each()} == set(events.EVENT_TYPES)


def test_wire_uses_cloudevents_attribute_names() -> None:
    wire = json.loads(
        envelope.encode(factories.received(), version=1, prev_hash=envelope.GENESIS_HASH).body
    )
    assert {"specversion", "id", "type", "source", "subject", "time", "datacontenttype"} <= set(
        wire
    )
    assert {
        "schema_version",
        "version",
        "causation_id",
        "correlation_id",
        "actor",
        "prev_hash",
        "data",
    } <= set(wire)
    assert wire["source"] == "intake"
    assert wire["data"]["content"] == "小区停水三天了"  # Chinese text kept as text


def test_hash_covers_every_byte_of_the_fact() -> None:
    body = envelope.encode(factories.received(), version=1, prev_hash=envelope.GENESIS_HASH).body
    tampered = body.replace("停水".encode(), "停电".encode())
    assert envelope.digest(tampered) != envelope.digest(body)


def _v1_rating(data: dict[str, object]) -> bytes:
    """A rating's bytes as a v1 fact with this payload."""
    current = factories.rated(factories.handled(factories.assigned(factories.received())))
    wire = json.loads(envelope.encode(current, version=2, prev_hash="b" * 64).body)
    return envelope.canonical_json({**wire, "schema_version": 1, "data": data})


def test_a_v1_rating_is_upcast_to_the_current_schema() -> None:
    old_body = _v1_rating({"satisfied": False, "solved": False, "comment": None})

    decoded = envelope.decode(old_body)

    assert isinstance(decoded.event, events.Rated)
    assert decoded.event.satisfaction == "dissatisfied"
    assert decoded.hash == envelope.digest(old_body)  # the stored bytes are never rewritten


def test_a_v2_redispatch_reads_as_one_whose_round_goes_on() -> None:
    facts = factories.dispatch_facts(factories.assigned(factories.received()))
    redispatched = next(f for f in facts if isinstance(f, events.Redispatched))
    wire = json.loads(envelope.encode(redispatched, version=3, prev_hash="b" * 64).body)
    data = {k: v for k, v in wire["data"].items() if k != "round"}
    old_body = envelope.canonical_json({**wire, "schema_version": 2, "data": data})
    decoded = envelope.decode(old_body)
    assert isinstance(decoded.event, events.Redispatched)
    assert decoded.event.round is None


def test_a_schema_version_newer_than_the_code_is_refused() -> None:
    with pytest.raises(upcasting.UnknownSchemaVersionError):
        upcasting.upcast("appeal.rated", 3, {}, current=2)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "appeal.teleported"}, "unknown event type"),
        ({"source": "feedback"}, "must come from intake"),
        ({"data": {"content": "missing everything else"}}, "validation error"),
        ({"version": 0}, "greater than or equal to 1"),  # a stream begins at version 1
    ],
)
@pytest.mark.parametrize("read", [envelope.decode, envelope.check])
def test_undecodable_facts_raise_decode_error(
    change: dict[str, object], reason: str, read: Callable[[bytes], object]
) -> None:
    wire = json.loads(
        envelope.encode(factories.received(), version=1, prev_hash=envelope.GENESIS_HASH).body
    )
    envelope.check(envelope.canonical_json(wire))  # unchanged, it reads
    with pytest.raises(envelope.DecodeError, match=reason):
        read(envelope.canonical_json({**wire, **change}))


@pytest.mark.parametrize("read", [envelope.decode, envelope.check])
def test_not_json_is_a_decode_error(read: Callable[[bytes], object]) -> None:
    with pytest.raises(envelope.DecodeError):
        read(b"\x00not json")


def test_json_schema_is_exported_for_every_event_type() -> None:
    schemas = envelope.json_schemas()
    assert set(schemas) == set(events.EVENT_TYPES)
    assert "satisfaction" in schemas["appeal.rated"]["properties"]


def test_times_are_normalised_to_utc() -> None:
    from datetime import datetime, timedelta, timezone

    beijing = datetime(2026, 10, 9, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    event = factories.received(at=beijing)
    assert event.time.utcoffset() == timedelta(0)
    assert event.time == beijing


def test_the_committed_asyncapi_document_matches_the_contracts() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
    assert committed.read_text() == asyncapi.render(), (
        "regenerate it: .venv/bin/python -m shared.asyncapi > docs/asyncapi.json"
    )


def test_the_asyncapi_document_describes_every_fact_on_its_owners_channel() -> None:
    doc = asyncapi.document()
    assert set(doc["components"]["messages"]) == set(events.EVENT_TYPES)
    for name, model in events.EVENT_TYPES.items():
        assert f"#/components/messages/{name}" in {
            m["$ref"] for m in doc["channels"][model.source]["messages"].values()
        }


def test_an_old_payload_not_of_its_version_is_a_decode_error() -> None:
    # A v1 rating without its yes/no: before, the upcaster's KeyError escaped the decode.
    body = _v1_rating({"solved": False})
    with pytest.raises(envelope.DecodeError, match="is not that version's payload"):
        envelope.decode(body)
