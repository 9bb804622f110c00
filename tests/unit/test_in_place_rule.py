"""Which live row a record with no row at its place may be held by (in_place.held_first):
the one both the live loop and a rebuild keep for its event id, its first read."""

from datetime import UTC, datetime

from aiokafka import TopicPartition

from audit_service.domain import wire
from audit_service.in_place import held_first

TOPIC = "hotline.intake.events.v1"
ENDS = {TopicPartition(TOPIC, 0): 100, TopicPartition(TOPIC, 1): 100}


def _record(partition: int, offset: int, hash: str) -> wire.Columns:
    """The columns of a record read at (TOPIC, partition, offset) with these bytes' hash."""
    return (
        "6f1d3c1e-0000-4000-8000-000000000001", "intake", "appeal.received",
        "6f1d3c1e-0000-4000-8000-000000000002", 1, datetime(2026, 1, 1, tzinfo=UTC),
        "operator:a", None, hash, "0" * 64, "{}", TOPIC, partition, offset,
    )  # fmt: skip


def test_an_earlier_read_in_the_records_partition_is_kept_whatever_its_bytes() -> None:
    record = _record(0, 50, "b" * 64)
    assert held_first((TOPIC, 0, 10, "b" * 64), record, ENDS)  # published twice
    assert held_first((TOPIC, 0, 10, "a" * 64), record, ENDS)  # its id reused
    assert not held_first((TOPIC, 0, 60, "b" * 64), record, ENDS)  # later: not the first
    assert not held_first((TOPIC, 0, 50, "b" * 64), record, ENDS)


def test_in_another_partition_only_the_same_bytes_are_held() -> None:
    """Which of two partitions a reading takes first is not fixed: with other bytes there,
    a rebuild might keep the record's, so the check in place must not call it held."""
    record = _record(0, 50, "b" * 64)
    assert held_first((TOPIC, 1, 70, "b" * 64), record, ENDS)
    assert not held_first((TOPIC, 1, 70, "a" * 64), record, ENDS)
    assert not held_first((TOPIC, 1, 5, "a" * 64), record, ENDS)


def test_a_row_at_a_place_the_log_does_not_cover_or_none_is_not_held() -> None:
    record = _record(0, 50, "b" * 64)
    assert not held_first(None, record, ENDS)
    assert not held_first((TOPIC, 1, 100, "b" * 64), record, ENDS)  # past the end offset
    assert not held_first((TOPIC, 7, 3, "b" * 64), record, ENDS)  # a partition not read
    assert not held_first(("another.topic", 0, 3, "b" * 64), record, ENDS)
