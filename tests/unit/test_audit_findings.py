"""Integrity findings on ingest: each kind of tampering is named, with the fact it concerns."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from audit_service import domain
from audit_service.domain import findings
from shared import envelope, topics
from tests.unit import factories

HISTORY = factories.audit_facts(factories.full_history())  # received, assigned, handled…
ASSIGNED = factories.assigned(factories.received())


def _wire(**changes: object) -> bytes:
    wire = json.loads(envelope.encode(ASSIGNED, version=1, prev_hash=envelope.GENESIS_HASH).body)
    return json.dumps({**wire, **changes}).encode()


@pytest.mark.parametrize(
    ("body", "topic", "kind"),
    [
        (b"{not json", topics.INTAKE, findings.UNDECODABLE),
        (_wire(), topics.INTAKE, findings.WRONG_TOPIC),  # dispatch's fact on intake's topic
        (_wire(source="intake"), topics.INTAKE, findings.WRONG_SOURCE),  # intake claims it
        (_wire(source="mallory"), topics.DISPATCH, findings.UNKNOWN_PRODUCER),
        (_wire(data={}), topics.DISPATCH, findings.UNDECODABLE),  # right place, not a fact
    ],
)
def test_a_parked_record_is_classified_from_what_it_claims(
    body: bytes, topic: str, kind: str
) -> None:
    found = findings.parked(body, topic, reason="the consumer's reason")
    assert (found.kind, found.detail) == (kind, "the consumer's reason")
    if kind != findings.UNDECODABLE or body.startswith(b'{"'):
        assert (found.appeal_id, found.event_id, found.version) == (
            ASSIGNED.subject,
            ASSIGNED.id,
            1,
        )


def _dispatch_stream() -> list[domain.Fact]:
    return [f for f in HISTORY if f.source == "dispatch"]  # assigned v1, closed v2


def test_an_intact_stream_raises_nothing_in_any_arrival_order_of_checks() -> None:
    first, second = _dispatch_stream()
    assert findings.links(first, [first]) == []
    assert findings.links(second, [first, second]) == []


def test_a_dropped_fact_is_a_gap() -> None:
    _, second = _dispatch_stream()
    [gap] = findings.links(second, [second])
    assert (gap.kind, gap.version, gap.event_id) == (findings.GAP, 2, second.event_id)
    assert "versions 1..1 never arrived" in gap.detail


def test_a_rewritten_predecessor_breaks_the_link() -> None:
    first, second = _dispatch_stream()
    body = first.body.replace("water", "power")
    rewritten = replace(first, body=body, hash=envelope.digest(body.encode()))
    [broken] = findings.links(second, [rewritten, second])
    assert broken.kind == findings.BROKEN_LINK
    assert broken.appeal_id == second.subject


def test_a_forged_fact_claiming_a_taken_version_conflicts() -> None:
    first, second = _dispatch_stream()
    forged = replace(second, event_id=factories.received().id, prev_hash="f" * 64)
    kinds = {f.kind for f in findings.links(forged, [first, second, forged])}
    assert kinds == {findings.VERSION_CONFLICT, findings.BROKEN_LINK}


def test_a_fact_arriving_after_a_later_one_is_reordered() -> None:
    first, second = _dispatch_stream()
    [late] = findings.links(first, [second, first])
    assert late.kind == findings.REORDERED


def test_a_known_id_with_other_content_is_a_reused_id_and_a_redelivery_is_not() -> None:
    first, _ = _dispatch_stream()
    assert findings.reused_id(first, first.hash) is None  # at-least-once delivery
    body = first.body.replace("water", "power")
    rewritten = replace(first, body=body, hash=envelope.digest(body.encode()))
    found = findings.reused_id(rewritten, first.hash)
    assert found is not None
    assert (found.kind, found.event_id, found.appeal_id) == (
        findings.REUSED_ID,
        first.event_id,
        first.subject,
    )
    assert first.hash in found.detail
    assert rewritten.hash in found.detail


def _chain(key: bytes, count: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    previous = None
    for n in range(count):
        row: dict[str, object] = {
            **findings.Finding(findings.GAP, f"gap {n}", version=n).row("t", 0, n),
            "id": n + 1,
            "found_at": datetime(2026, 5, 1, tzinfo=UTC),
        }
        row["seal"] = previous = findings.seal(key, previous, row)
        rows.append(row)
    return rows


def test_a_finding_deleted_or_edited_breaks_the_seal_chain_at_that_place() -> None:
    key = b"k" * 32
    rows = _chain(key, 5)
    assert findings.chain_breaks(key, None, rows) == (rows[-1]["seal"], [])
    assert findings.chain_breaks(b"other" * 8, None, rows)[1] == rows  # another key
    gap = [*rows[:2], *rows[3:]]
    assert [r["id"] for r in findings.chain_breaks(key, None, gap)[1]] == [4]
    edited = [*rows[:3], {**rows[3], "detail": "nothing"}, rows[4]]
    assert [r["id"] for r in findings.chain_breaks(key, None, edited)[1]] == [4]
    # Findings recorded before sealing began start the chain; an unsealed one after is not.
    legacy = [{**rows[0], "seal": None}, {**rows[1], "seal": findings.seal(key, None, rows[1])}]
    assert findings.chain_breaks(key, None, legacy)[1] == []
    assert findings.chain_breaks(key, None, [rows[0], {**rows[1], "seal": None}])[1] != []


def test_a_parked_record_and_its_finding_must_both_be_there_and_agree() -> None:
    record = {"topic": "t", "partition": 1, "offset": 7, "body": b"nonsense", "reason": "why"}
    finding = findings.parked(b"nonsense", "t", reason="why").row("t", 1, 7)
    assert findings.parked_pair(record, finding) is None
    lost = [findings.parked_pair(record, None), findings.parked_pair(None, finding)]
    assert [r["kind"] if r else None for r in lost] == [findings.MISSING_PARKED] * 2
    edited = findings.parked_pair({**record, "reason": "fine"}, finding)
    assert edited is not None
    assert edited["detail"].endswith("disagree: one was edited")


def test_a_parked_record_is_classified_whatever_its_bytes_claim() -> None:
    # a forged record may claim anything: classifying it must never fail (a park that fails
    # stalls its partition), and what is kept fits its column
    claims: list[tuple[dict[str, object], tuple[object, ...]]] = [
        ({"source": []}, ("[]", None, None)),
        ({"source": {}, "type": ["x"]}, ("{}", "['x']", None)),
        ({"version": 3_000_000_000}, (None, None, None)),  # past an int4
        ({"source": "in\u0000take", "type": "\u0000"}, ("intake", "", None)),  # NUL: no text
        ({"source": 1, "version": -1}, ("1", None, -1)),  # kept as before
    ]
    for claimed, kept_as in claims:
        found = findings.parked(json.dumps(claimed).encode(), topics.INTAKE, reason="bad")
        assert found.kind == findings.UNKNOWN_PRODUCER
        assert (found.source, found.type, found.version) == kept_as
    kept = findings.parked(
        json.dumps({"source": "intake", "type": "appeal.received", "version": 7}).encode(),
        topics.INTAKE,
        reason="bad",
    )
    assert (kept.source, kept.type, kept.version) == ("intake", "appeal.received", 7)
