"""Ordering and verifying one appeal's facts. Pure: same facts in, same answer out.

Facts of different services reach audit over different topics in any interleaving, so the
timeline is never arrival order: it is a topological order of "each stream's version n comes
before n+1" and "a cause comes before its effect", ties broken by (time, source, version, id).
"""

import hashlib
import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from shared import chain, envelope


@dataclass(frozen=True, slots=True)
class Fact:
    event_id: UUID
    source: str
    type: str
    subject: UUID
    version: int
    time: datetime
    actor: str
    causation_id: UUID | None
    hash: str
    prev_hash: str
    body: str
    # How the stored row disagrees with its own bytes or audit's seal (domain/records.py):
    # empty for a fact read back as it was recorded.
    problems: tuple[str, ...] = ()
    # Where it was read in the log (topic, partition, offset), for a fact read back from a
    # store: a stream's facts are published in version order, so they sit in that order.
    place: tuple[str, int, int] | None = None


@dataclass(frozen=True, slots=True)
class ChainReport:
    source: str
    length: int
    verified: bool
    problems: tuple[str, ...] = field(default_factory=tuple)


def timeline(facts: Iterable[Fact]) -> list[Fact]:
    by_id = {f.event_id: f for f in facts}
    successors: dict[UUID, list[UUID]] = defaultdict(list)
    waiting: dict[UUID, int] = dict.fromkeys(by_id, 0)
    streams: dict[str, list[Fact]] = defaultdict(list)
    for fact in by_id.values():
        streams[fact.source].append(fact)
        if fact.causation_id in by_id:
            successors[fact.causation_id].append(fact.event_id)
            waiting[fact.event_id] += 1
    for stream in streams.values():
        stream.sort(key=lambda f: (f.version, str(f.event_id)))
        for before, after in itertools.pairwise(stream):
            successors[before.event_id].append(after.event_id)
            waiting[after.event_id] += 1
    ready = [_rank(f) for f in by_id.values() if waiting[f.event_id] == 0]
    heapq.heapify(ready)
    ordered: list[Fact] = []
    while ready:
        fact = by_id[heapq.heappop(ready)[-1]]
        ordered.append(fact)
        for next_id in successors[fact.event_id]:
            waiting[next_id] -= 1
            if waiting[next_id] == 0:
                heapq.heappush(ready, _rank(by_id[next_id]))
    # A causal cycle can only come from forged facts; keep them, deterministically, at the end.
    placed = {f.event_id for f in ordered}
    ordered.extend(sorted((f for f in by_id.values() if f.event_id not in placed), key=_rank))
    return ordered


def _rank(fact: Fact) -> tuple[datetime, str, int, str, UUID]:
    return (fact.time, fact.source, fact.version, str(fact.event_id), fact.event_id)


def verify_chains(facts: Iterable[Fact]) -> list[ChainReport]:
    """Each service's stream must run 1..n, each fact hashing to what the next one names."""
    streams: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        streams[fact.source].append(fact)
    return [
        _verify(source, sorted(stream, key=lambda f: f.version))
        for source, stream in sorted(streams.items())
    ]


def _verify(source: str, stream: Sequence[Fact]) -> ChainReport:
    found = chain.problems(
        [chain.Link(f.version, f.prev_hash, f.hash, f.body.encode()) for f in stream]
    )
    # A row that disagrees with its bytes or its seal breaks the chain's claim as much as a
    # missing link does, even where the links still hold.
    found += [f"version {f.version}: {problem}" for f in stream for problem in f.problems]
    # A stream keeps one partition (its subject is the key) and is published in version
    # order: a later version read from an earlier place was reordered in the log.
    found += [
        f"version {after.version} is at {after.place[0]}:{after.place[1]}:{after.place[2]}, "
        f"before version {before.version} at offset {before.place[2]}: reordered in the log"
        for before, after in itertools.pairwise(stream)
        if before.place is not None
        and after.place is not None
        and before.place[:2] == after.place[:2]
        and after.place[2] < before.place[2]
    ]
    return ChainReport(source, len(stream), not found, tuple(found))


def with_unlisted(
    chains: Sequence[ChainReport], unlisted: Iterable[tuple[str, str]]
) -> list[ChainReport]:
    """The chains, each also failing for every fact of its source that the signed tree holds
    for the appeal but the store no longer lists under it (`(source, what)` pairs): a
    stream's last fact moved to another appeal leaves no gap behind, but its leaf stays."""
    missing: dict[str, list[str]] = defaultdict(list)
    for source, what in unlisted:
        missing[source].append(what)
    reports = []
    for c in chains:
        gone = missing.pop(c.source, [])
        reports.append(ChainReport(c.source, c.length, c.verified and not gone,
                                   (*c.problems, *gone)))  # fmt: skip
    reports += [ChainReport(s, 0, False, tuple(found)) for s, found in sorted(missing.items())]
    return reports


def digest(ordered: Sequence[Fact]) -> str:
    """SHA-256 over one line per fact in causal order: the SHA-256 of its stored bytes
    (recomputed, so every field read from them is covered, whatever the hash column says),
    then any problems with its row. A history shows only fields read from the bytes, and
    the record time, which audit's seal covers: so two projections with equal digests show
    the same history, and a replay over edited rows is never "equal"."""
    lines = (" ".join((envelope.digest(f.body.encode()), *f.problems)) for f in ordered)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def vouched_digest(ordered: Sequence[Fact]) -> str:
    """`digest` of facts whose stored bytes are known to hash to their hash column (a
    replay's row checks: live_checks.py), and with no problems: the same lines, read from
    that column instead of hashing the bytes again."""
    return hashlib.sha256("\n".join(f.hash for f in ordered).encode()).hexdigest()


class OverallDigest:
    """SHA-256 over the lines "subject:digest" in subject order, joined by newlines, fed one
    appeal at a time (a replay streams them: it never holds every appeal's digest)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._empty = True

    def add(self, subject: UUID | str, appeal_digest: str) -> None:
        line = f"{subject}:{appeal_digest}".encode()
        self._hash.update(line if self._empty else b"\n" + line)
        self._empty = False

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
