"""A fact's facts-table columns read straight from its bytes, in one pass (a replay's path).

`envelope.decode` builds the event's model to validate it; a replay of millions of facts
needs only the columns, so it reads them here with orjson and validates apart from this
(replay.py). Only canonical values are taken (a lowercase UUID, an aware time): anything
else returns None and the caller reads that fact the slow way, through the model, so both
ways give the same row for the same bytes. Pure: no I/O.
"""

import hashlib
import re
from datetime import datetime
from typing import Any

import orjson

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The columns `columns` returns, in this order: the facts table's, less audit's own
# (ingested_at, seq, seal), which the writer adds.
COLUMNS = (
    "event_id", "source", "type", "subject", "version", "time", "actor", "causation_id",
    "hash", "prev_hash", "body", "topic", "partition", "offset",
)  # fmt: skip

Columns = tuple[str, str, str, str, int, datetime, str, str | None, str, str, str, str, int, int]


def _uuid(value: Any) -> str:
    if type(value) is not str or not _UUID.fullmatch(value):
        raise ValueError(value)
    return value


def _text(value: Any) -> str:
    if type(value) is not str:
        raise ValueError(value)
    return value


def columns(value: bytes, topic: str, partition: int, offset: int) -> Columns | None:
    """The row of a record read at (topic, partition, offset), or None if its bytes do not
    hold a fact in canonical form (not JSON, a field missing or of another type)."""
    try:
        wire = orjson.loads(value)
        version, time = wire["version"], datetime.fromisoformat(wire["time"])
        if type(version) is not int or version < 1 or time.tzinfo is None:
            return None
        cause = wire["causation_id"]
        return (
            _uuid(wire["id"]), _text(wire["source"]), _text(wire["type"]),
            _uuid(wire["subject"]), version, time, _text(wire["actor"]),
            None if cause is None else _uuid(cause),
            hashlib.sha256(value).hexdigest(), _text(wire["prev_hash"]), value.decode(),
            topic, partition, offset,
        )  # fmt: skip
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
