"""A fact as audit stored it, read back so that nothing shown rests on an unchecked column.

Everything a history shows or a measure counts (type, actor, times, causation, subject,
source, version, prev_hash, data) is read from the stored bytes, whose SHA-256 the chain
check holds against the stored hash. The copied columns beside the bytes (`type`, `actor`,
`time`, ...) serve only as indexes for finding rows; each is compared with the bytes when
read, and any difference is one of the fact's `problems`.

What the bytes cannot prove, audit seals: when it recorded the fact and where it read it
(`ingested_at`, `seq`, `topic`, `partition`, `offset`, with the event id and hash), under an
HMAC-SHA256 whose key is a mounted secret, never in the database. Someone who can write the
database but does not hold the key cannot move a record time or a position unnoticed; a row
with no seal (or the wrong one) is a problem too. Pure: the key is an argument.
"""

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from audit_service.domain.facts import Fact
from shared import envelope, topics

# Columns a copied value must equal, and the envelope field each copies.
_COPIED = {
    "event_id": "id",
    "source": "source",
    "type": "type",
    "subject": "subject",
    "version": "version",
    "time": "time",
    "actor": "actor",
    "causation_id": "causation_id",
    "prev_hash": "prev_hash",
}


def seal(
    key: bytes,
    *,
    event_id: UUID,
    hash: str,
    topic: str,
    partition: int,
    offset: int,
    ingested_at: datetime,
    seq: int,
) -> str:
    """HMAC-SHA256 over what audit adds to a fact: its record time and place."""
    message = envelope.canonical_json(
        [str(event_id), hash, topic, partition, offset, _instant(ingested_at), seq]
    )
    return hmac.digest(key, message, "sha256").hex()  # hmac.new's, in one C call


# What a row seal covers: every column of a fact's row but its bytes (the hash covers them)
# and audit's seals. PostgreSQL renders the same message (store/tables.py).
ROW_SEALED = (
    "event_id", "hash", "topic", "partition", "offset", "ingested_at", "seq", "source", "type",
    "subject", "version", "time", "causation_id", "actor", "prev_hash",
)  # fmt: skip
# Those that hold any text: written with their length first.
ROW_SEALED_TEXT = frozenset({"hash", "topic", "source", "type", "actor", "prev_hash"})
_IS_TEXT = tuple(column in ROW_SEALED_TEXT for column in ROW_SEALED)
_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


def row_message(values: Sequence[Any]) -> bytes:
    """A row's ROW_SEALED values, given in that order, joined by "|": a text as its length,
    ":" and itself, a time as microseconds since 1970, nothing for NULL, anything else (a
    number, an id) as itself. No "|" can shift from one value into the next, so no two
    rows give one message."""
    texts = []
    for value, is_text in zip(values, _IS_TEXT, strict=True):
        if value is None:
            texts.append("")
        elif is_text:
            texts.append(f"{len(value)}:{value}")
        elif isinstance(value, datetime):
            texts.append(str((value - _EPOCH) // _MICROSECOND))
        else:
            texts.append(str(value))
    return "|".join(texts).encode()


def row_seals(key: bytes, rows: Iterable[Sequence[Any]]) -> list[str]:
    """Each fact's row seal, made when audit records it: a MAC over the SHA-256 of its
    whole row but its bytes (`row_message`; each row given as its ROW_SEALED values in that
    order, `row_values`). `seal` proves the record time and place; this proves the columns
    copied from the bytes too. PostgreSQL keeps that SHA-256 of each row itself
    (`row_digest`, a generated column), so a replay checks a row with one MAC over 32
    bytes, where reading its claims back from its bytes costs a JSON parse
    (live_checks.py)."""
    sealer = row_sealer(key)
    sealed = []
    for values in rows:
        mac = sealer.copy()
        mac.update(hashlib.sha256(row_message(values)).digest())
        sealed.append(mac.hexdigest())
    return sealed


def add_row_seals(key: bytes, rows: Sequence[MutableMapping[str, Any]]) -> None:
    """Each row, a mapping of its columns, given its `row_seal`."""
    for row, seal in zip(rows, row_seals(key, map(row_values, rows)), strict=True):
        row["row_seal"] = seal


def row_sealer(key: bytes) -> "hashlib.blake2b":
    """The keyed state every row seal starts from: BLAKE2b in its keyed mode, a MAC by
    design (RFC 7693), under a key of its own, the HMAC-SHA256 of its purpose under audit's
    key. A replay checks one per row: copied from this state, a check costs a third of an
    HMAC-SHA256 (docs/benchmarks.md)."""
    own_key = hmac.digest(key, b"hotline row seals", "sha256")
    return hashlib.blake2b(key=own_key, digest_size=32)


def row_values(row: Mapping[str, Any]) -> list[Any]:
    """A row's ROW_SEALED values, in that order."""
    return [row[column] for column in ROW_SEALED]


def replay_seal(
    key: bytes,
    *,
    replay_id: int,
    schema_name: str,
    status: str,
    end_offsets: dict[str, int],
    rows: int,
) -> str:
    """HMAC-SHA256 over a finished replay's record: which schema it rebuilt, up to which
    offsets, how it compared, and how many rows its table holds. The database's runtime role
    owns the replay's schema and may edit its record, so a switch-over trusts neither
    without this."""
    message = envelope.canonical_json(
        ["replay", replay_id, schema_name, status, dict(sorted(end_offsets.items())), rows]
    )
    return hmac.digest(key, message, "sha256").hex()


def key_seal(key: bytes, *, key_id: str, public_key: str) -> str:
    """HMAC-SHA256 over a checkpoint signing key audit recorded using. The runtime role may
    add rows to `signing_keys`, and verifiers take their keys from what audit serves, so
    audit serves only a key it sealed itself (routes/proofs.py)."""
    message = envelope.canonical_json(["signing_key", key_id, public_key])
    return hmac.digest(key, message, "sha256").hex()


def seals(
    key: bytes, rows: Iterable[tuple[str, str, str, int, int, int]], ingested_at: datetime
) -> list[str]:
    """`seal` of many rows recorded at one instant, each (event_id, hash, topic, partition,
    offset, seq) with the event id a lowercase UUID string: what `seal` hashes, formatted
    directly (none of these strings has a character JSON escapes; a unit test holds the two
    equal), since a replay seals hundreds of thousands of rows."""
    at = _instant(ingested_at)
    return [
        hmac.digest(
            key,
            f'["{event_id}","{hash_}","{topic}",{partition},{offset},"{at}",{seq}]'.encode(),
            "sha256",
        ).hex()
        for event_id, hash_, topic, partition, offset, seq in rows
    ]


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _claimed(body: str) -> dict[str, Any] | None:
    try:
        wire = json.loads(body)
    except ValueError:
        return None
    return wire if isinstance(wire, dict) else None


def _as(column: str, value: Any) -> Any:
    """A body field in the type its column holds."""
    if value is None:
        return None
    if column in ("event_id", "subject", "causation_id"):
        return UUID(str(value))
    if column == "time":
        return datetime.fromisoformat(str(value))
    if column == "version":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(value)
        return value
    return str(value)


def from_row(row: Mapping[Any, Any], key: bytes) -> Fact:
    """The fact the row's bytes hold, with every way the row disagrees with them."""
    problems: list[str] = []
    body = str(row["body"])
    wire = _claimed(body)
    values: dict[str, Any] = {}
    if wire is None:
        problems.append("stored bytes are not a fact")
        values = {column: row[column] for column in _COPIED}
    else:
        for column, field in _COPIED.items():
            try:
                values[column] = _as(column, wire.get(field))
            except (TypeError, ValueError):
                values[column] = row[column]
                problems.append(f"bytes hold no valid {field}")
                continue
            if values[column] != row[column]:
                problems.append(f"column {column} differs from the hashed bytes")
    if envelope.digest(body.encode()) != row["hash"]:
        problems.append("column hash is not the SHA-256 of the stored bytes")
    if topics.BY_SOURCE.get(str(values["source"])) != row["topic"]:
        problems.append("column topic is not its source's topic")
    expected = seal(
        key,
        event_id=row["event_id"],
        hash=row["hash"],
        topic=row["topic"],
        partition=row["partition"],
        offset=row["offset"],
        ingested_at=row["ingested_at"],
        seq=row["seq"],
    )
    if row["seal"] is None or not hmac.compare_digest(expected, str(row["seal"])):
        problems.append("record time or position does not match audit's seal")
    return Fact(
        event_id=values["event_id"],
        source=str(values["source"]),
        type=str(values["type"]),
        subject=values["subject"],
        version=int(values["version"] or 0),
        time=values["time"],
        actor=str(values["actor"]),
        causation_id=values["causation_id"],
        hash=str(row["hash"]),
        prev_hash=str(values["prev_hash"]),
        body=body,
        problems=tuple(problems),
        place=(str(row["topic"]), int(row["partition"]), int(row["offset"])),
    )
