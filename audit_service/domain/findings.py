"""Integrity findings: what audit saw on ingest that a true history cannot contain. Pure.

Two places raise them. A record the consumer parks (it never becomes a fact) is classified
from its raw bytes: not a fact at all, a type from a service that does not own it, a source
no service answers to, or a fact on another service's topic. A fact that does decode is
checked against the facts of its stream already recorded: each service's stream for an
appeal must run 1, 2, 3… with each fact naming its predecessor's hash, so a rewritten fact
(a fresh hash the next one does not name), a dropped one (a gap), a reordered one or a
forged one (a second fact claiming a taken version) shows where it happened.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args
from uuid import UUID

from audit_service.domain.facts import Fact
from shared import envelope, events, topics

Kind = Literal[
    "undecodable",
    "wrong_source",  # a type its source does not own (appeal.assigned from intake)
    "unknown_producer",  # a source that is none of the services
    "wrong_topic",  # a fact on a topic its source does not write to
    "broken_link",  # prev_hash does not name the previous fact's hash
    "gap",  # versions missing before this one: a dropped fact
    "reordered",  # arrived after a later version of its stream
    "version_conflict",  # another fact already holds this version
    "reused_id",  # a fact id already recorded, arriving again with other content
    "tampered_row",  # a stored fact whose columns or seal disagree with its bytes
    "missing_fact",  # a fact the Merkle tree holds is gone from the store
    "rewritten_fact",  # a stored fact's hash is not the one its Merkle leaf holds
    "moved_leaf",  # a Merkle leaf places its fact elsewhere than the fact's sealed seq
    "missing_finding",  # the findings' seal chain breaks: one was deleted or edited
    "missing_parked",  # a parked record and its finding: one is gone
]
KINDS: tuple[Kind, ...] = get_args(Kind)
UNDECODABLE: Final = "undecodable"
WRONG_SOURCE: Final = "wrong_source"
UNKNOWN_PRODUCER: Final = "unknown_producer"
WRONG_TOPIC: Final = "wrong_topic"
BROKEN_LINK: Final = "broken_link"
GAP: Final = "gap"
REORDERED: Final = "reordered"
VERSION_CONFLICT: Final = "version_conflict"
REUSED_ID: Final = "reused_id"
TAMPERED_ROW: Final = "tampered_row"
MISSING_FACT: Final = "missing_fact"
REWRITTEN_FACT: Final = "rewritten_fact"
MOVED_LEAF: Final = "moved_leaf"
MISSING_FINDING: Final = "missing_finding"
MISSING_PARKED: Final = "missing_parked"
REPAIRABLE: Final = (TAMPERED_ROW, MISSING_FACT, REWRITTEN_FACT)  # about a row of the store
PARKED_KINDS: Final = (UNDECODABLE, WRONG_SOURCE, UNKNOWN_PRODUCER, WRONG_TOPIC)
# What a finding's seal covers, besides the seal of the finding before it.
SEALED: Final = ("kind", "detail", "appeal_id", "event_id", "source", "type", "version",
                 "topic", "partition", "offset", "found_at")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    detail: str
    appeal_id: UUID | None = None
    event_id: UUID | None = None
    source: str | None = None
    type: str | None = None
    version: int | None = None

    def row(self, topic: str, partition: int, offset: int) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detail": self.detail[:4000],
            "appeal_id": self.appeal_id,
            "event_id": self.event_id,
            "source": self.source,
            "type": self.type,
            "version": self.version,
            "topic": topic,
            "partition": partition,
            "offset": offset,
        }


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _text(value: Any, limit: int) -> str | None:
    # PostgreSQL's text holds no NUL: a finding with one could never be written (nor checked).
    return None if value is None else str(value).replace("\x00", "")[:limit]


def parked(body: bytes | None, topic: str, *, reason: str) -> Finding:
    """Classify a record the consumer parked, keeping what its bytes claim about itself."""
    try:
        claimed = json.loads(body or b"")
    except ValueError:
        claimed = None
    if not isinstance(claimed, dict):
        return Finding(UNDECODABLE, reason)
    # A forged record may claim anything, and classifying it must never fail (a park that
    # fails stalls its partition): a source that is no string is no known one (a list
    # cannot even be looked up), and a version is kept only if an int4 holds it.
    source, type_ = claimed.get("source"), claimed.get("type")
    version = claimed.get("version")
    if not isinstance(version, int) or not -(2**31) <= version < 2**31:
        version = None
    owner = events.EVENT_TYPES.get(str(type_))
    kind: Kind
    if not isinstance(source, str) or source not in topics.BY_SOURCE:
        kind = UNKNOWN_PRODUCER
    elif owner is not None and owner.source != source:
        kind = WRONG_SOURCE
    elif topics.BY_SOURCE[source] != topic:
        kind = WRONG_TOPIC
    else:
        kind = UNDECODABLE  # right source, right topic, but not a valid fact of its type
    return Finding(
        kind,
        reason,
        appeal_id=_uuid(claimed.get("subject")),
        event_id=_uuid(claimed.get("id")),
        source=_text(source, 50),
        type=_text(type_, 100),
        version=version,
    )


def links(fact: Fact, stream: list[Fact]) -> list[Finding]:
    """Check a newly recorded fact against the other facts of its stream already recorded."""
    others = [f for f in stream if f.event_id != fact.event_id]
    same = [f for f in others if f.version == fact.version]
    previous = next((f for f in others if f.version == fact.version - 1), None)
    later = max((f.version for f in others if f.version > fact.version), default=None)

    def finding(kind: Kind, detail: str) -> Finding:
        where = f"{fact.source} stream of {fact.subject}, version {fact.version}"
        return Finding(
            kind, f"{where}: {detail}", fact.subject, fact.event_id, fact.source, fact.type,
            fact.version,
        )  # fmt: skip

    found = [finding(VERSION_CONFLICT, f"version already held by fact {f.event_id}") for f in same]
    if later is not None:
        found.append(finding(REORDERED, f"arrived after version {later}"))
    expected = envelope.GENESIS_HASH if fact.version == 1 else None
    if previous is not None:
        expected = previous.hash
    elif fact.version > 1 and later is None:
        recorded = max((f.version for f in others if f.version < fact.version), default=0)
        found.append(finding(GAP, f"versions {recorded + 1}..{fact.version - 1} never arrived"))
    if expected is not None and fact.prev_hash != expected:
        found.append(finding(BROKEN_LINK, "prev_hash does not name the previous fact's hash"))
    return found


def reused_id(fact: Fact, recorded_hash: str) -> Finding | None:
    """A fact arriving with the id of one already recorded: a redelivery when the bytes are
    the same, a rewritten or forged fact when they are not (the id is no licence to replace
    what was recorded, so the first one stays and this one is reported)."""
    if fact.hash == recorded_hash:
        return None
    return Finding(
        REUSED_ID,
        f"{fact.source} stream of {fact.subject}, version {fact.version}: fact {fact.event_id}"
        f" was recorded with hash {recorded_hash}, arrives again with hash {fact.hash}",
        fact.subject, fact.event_id, fact.source, fact.type, fact.version,
    )  # fmt: skip


def tampered(fact: Fact, *, seq: int) -> Finding:
    """A row of audit's own store that disagrees with its bytes or seal (domain/records.py),
    at the appeal and version its bytes name."""
    return Finding(
        TAMPERED_ROW,
        f"{fact.source} stream of {fact.subject}, version {fact.version}, recorded as "
        f"#{seq}: " + "; ".join(fact.problems),
        fact.subject, fact.event_id, fact.source, fact.type, fact.version,
    )  # fmt: skip


def seal(key: bytes, previous: str | None, row: Mapping[str, Any]) -> str:
    """HMAC-SHA256 over a finding and the seal of the one recorded before it (None for the
    first): the findings form one chain, so deleting or editing one breaks the next seal."""
    values = [
        row[c].astimezone(UTC).isoformat(timespec="microseconds")
        if isinstance(row[c], datetime)
        else None
        if row[c] is None
        else str(row[c])
        for c in SEALED
    ]
    message = envelope.canonical_json([previous or "", *values])
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def chain_breaks(
    key: bytes, previous: str | None, rows: Sequence[Mapping[str, Any]]
) -> tuple[str | None, list[Mapping[str, Any]]]:
    """The rows (in id order, following a row sealed `previous`) whose seal does not follow:
    a finding before it was deleted, or it was edited. Rows recorded before findings were
    sealed carry none and start the chain. Returns the last seal and the rows that break."""
    broken = []
    for row in rows:
        if row["seal"] is None and previous is None:
            continue
        if row["seal"] is None or not hmac.compare_digest(
            seal(key, previous, row), str(row["seal"])
        ):
            broken.append(row)
        previous = row["seal"]
    return previous, broken


def missing_finding(row: Mapping[str, Any]) -> Finding:
    return Finding(
        MISSING_FINDING,
        f"finding #{row['id']} ({row['kind']}) breaks the findings' seal chain: it was "
        "deleted or edited, or a finding before it was deleted",
        row["appeal_id"], row["event_id"], row["source"], row["type"], row["version"],
    )  # fmt: skip


_PARKED_FIELDS = ("kind", "detail", "appeal_id", "event_id", "source", "type", "version")


def parked_pair(
    record: Mapping[str, Any] | None, finding: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """A parked record and the finding made of it must both be there and agree (the
    finding is what `parked` reads from the record's bytes and reason): the row of a
    `missing_parked` finding when they do not."""
    held = record if record is not None else finding
    assert held is not None
    place = (held["topic"], held["partition"], held["offset"])
    where = f"the record parked at {place[0]}:{place[1]}@{place[2]}"
    if record is None:
        about = Finding(MISSING_PARKED, f"{where} has lost its parked record")
        claimed = finding
    else:
        claimed = parked(record["body"], record["topic"], reason=record["reason"]).row(*place)
        if finding is None:
            about = Finding(MISSING_PARKED, f"{where} has lost its finding")
        elif any(finding[c] != claimed[c] for c in _PARKED_FIELDS):
            about = Finding(MISSING_PARKED, f"{where} and its finding disagree: one was edited")
        else:
            return None
    assert claimed is not None
    return Finding(
        about.kind, about.detail, claimed["appeal_id"], claimed["event_id"], claimed["source"],
        claimed["type"], claimed["version"],
    ).row(*place)  # fmt: skip
