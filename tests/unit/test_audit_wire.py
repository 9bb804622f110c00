"""A replay's one-pass reading of a fact's bytes (domain/wire.py) and its batch sealing give
what the model-built row (store.fact_row) and `records.seal` give for the same fact; a fact
the model cannot read is left out of a replay, as the live loop parks it."""

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from audit_service import log_reader, store
from audit_service.domain import records, wire
from shared import envelope, topics
from shared.runtime.consumer import Delivery
from tests.unit import factories

KEY = b"k" * 32


def _recorded() -> list[envelope.Recorded]:
    return factories.chained(factories.full_history())


def test_the_bytes_give_the_row_the_model_gives() -> None:
    for offset, recorded in enumerate(_recorded()):
        topic = topics.BY_SOURCE[recorded.source]
        delivery = Delivery(envelope.decode(recorded.body), topic, 2, offset)
        assert wire.columns(recorded.body, topic, 2, offset) == store.fact_columns(delivery)


def test_a_fact_before_a_streams_first_version_is_left_to_the_model() -> None:
    fact = json.loads(_recorded()[0].body)
    zero = envelope.canonical_json({**fact, "version": 0})
    assert wire.columns(zero, topics.INTAKE, 0, 0) is None


def test_bytes_not_in_canonical_form_are_left_to_the_model() -> None:
    body = _recorded()[0].body
    wire_fields = envelope.canonical_json
    for changed in (
        body.replace(b'"id":"', b'"id":"X'),  # not a UUID
        body.upper(),  # keys renamed, UUIDs in capitals
        body.replace(b'"version":1', b'"version":"1"'),
        body.replace(b'00Z"', b'00"'),  # a time without its zone
        b"not json",
        wire_fields(["a list"]),
    ):
        assert wire.columns(changed, "hotline.intake", 0, 0) is None


def test_a_time_in_another_zone_is_the_same_instant() -> None:
    body = _recorded()[0].body
    assert b'"time":"2026-10-09T08:30:00Z"' in body
    elsewhere = body.replace(b"2026-10-09T08:30:00Z", b"2026-10-09T16:30:00+08:00")
    row = wire.columns(elsewhere, "hotline.intake", 0, 0)
    assert row is not None
    assert row[5] == datetime(2026, 10, 9, 8, 30, tzinfo=UTC)


@given(
    partition=st.integers(0, 2**31 - 1),
    offset=st.integers(0, 2**63 - 1),
    seq=st.integers(1, 2**63 - 1),
    at=st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))),
)
def test_batch_seals_are_the_seals(partition: int, offset: int, seq: int, at: datetime) -> None:
    event_id, hash_ = uuid4(), "ab" * 32
    [batch] = records.seals(
        KEY, [(str(event_id), hash_, "hotline.intake", partition, offset, seq)], at
    )
    one = records.seal(
        KEY, event_id=event_id, hash=hash_, topic="hotline.intake", partition=partition,
        offset=offset, ingested_at=at.astimezone(UTC), seq=seq,
    )  # fmt: skip
    assert batch == one


def test_an_old_fact_not_of_its_version_is_left_out_of_a_replay_not_fatal_to_it() -> None:
    # A v1 rating without its yes/no: its upcaster's KeyError used to end the replay.
    rated = json.loads(_recorded()[3].body)
    assert rated["type"] == "appeal.rated"
    body = envelope.canonical_json({**rated, "schema_version": 1, "data": {"solved": False}})
    assert wire.columns(body, "hotline.feedback", 0, 0) is not None  # its columns read
    assert log_reader.decodes(body) is False  # but the model does not: left out, as parked live
