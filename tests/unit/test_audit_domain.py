import hashlib
from collections.abc import Iterable
from dataclasses import replace
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from audit_service import domain
from shared import envelope
from tests.unit import factories

HISTORY = factories.audit_facts(factories.full_history())


def test_timeline_follows_causation() -> None:
    assert [f.type for f in domain.timeline(reversed(HISTORY))] == [
        "appeal.received",
        "appeal.assigned",
        "appeal.handled",
        "appeal.rated",
        "appeal.closed",
    ]


def test_a_cause_comes_first_even_when_its_clock_ran_late() -> None:
    r, a, *_ = HISTORY
    late_cause = replace(r, time=a.time.replace(year=a.time.year + 1))
    assert domain.timeline([a, late_cause])[0] == late_cause


@given(st.permutations(HISTORY))
def test_any_arrival_order_gives_the_same_timeline_and_digest(arrival: list[domain.Fact]) -> None:
    ordered = domain.timeline(arrival)
    assert ordered == domain.timeline(HISTORY)
    assert domain.digest(ordered) == domain.digest(domain.timeline(HISTORY))


def test_intact_chains_verify() -> None:
    reports = domain.verify_chains(HISTORY)
    assert [(r.source, r.length, r.verified) for r in reports] == [
        ("dispatch", 2, True),
        ("feedback", 2, True),
        ("intake", 1, True),
    ]


def test_an_edited_fact_is_detected() -> None:
    handled = HISTORY[2]
    edited = replace(handled, body=handled.body.replace("solved", "explained"))
    [_, feedback, _] = domain.verify_chains([*HISTORY[:2], edited, *HISTORY[3:]])
    assert not feedback.verified
    assert "content does not match its hash" in feedback.problems[0]


def test_a_missing_fact_is_detected() -> None:
    without_handled = [f for f in HISTORY if f.type != "appeal.handled"]
    feedback = domain.verify_chains(without_handled)[1]
    assert not feedback.verified
    assert any("missing" in p for p in feedback.problems)


def test_a_rewritten_fact_with_a_fresh_hash_breaks_the_next_link() -> None:
    handled = HISTORY[2]
    body = handled.body.replace("solved", "explained")
    forged = replace(handled, body=body, hash=envelope.digest(body.encode()))
    feedback = domain.verify_chains([forged, HISTORY[3]])[0]
    assert feedback.problems == ("version 2: prev_hash does not link to the previous fact",)


def test_a_stream_reordered_in_the_log_is_detected() -> None:
    # handled (feedback v1) and rated (v2), read back from where the log holds them
    handled, rated = HISTORY[2], HISTORY[3]
    in_order = [
        replace(handled, place=("feedback", 3, 10)),
        replace(rated, place=("feedback", 3, 11)),
    ]
    assert domain.verify_chains(in_order)[0].verified
    swapped = [
        replace(handled, place=("feedback", 3, 11)),
        replace(rated, place=("feedback", 3, 10)),
    ]
    [feedback] = domain.verify_chains(swapped)
    assert not feedback.verified
    assert feedback.problems == (
        "version 2 is at feedback:3:10, before version 1 at offset 11: reordered in the log",
    )


def _sorted_digest(pairs: Iterable[tuple[UUID, str]]) -> str:
    """The overall digest as documented: SHA-256 over "subject:digest" lines in subject
    order, joined by newlines; computed here apart from the streamed one."""
    lines = sorted(f"{subject}:{digest}" for subject, digest in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _streamed_digest(pairs: Iterable[tuple[UUID, str]]) -> str:
    total = domain.OverallDigest()
    for subject, digest in sorted(pairs, key=lambda p: str(p[0])):
        total.add(subject, digest)
    return total.hexdigest()


def test_overall_digest_ignores_the_order_appeals_are_listed_in() -> None:
    pairs = [(f.subject, f.hash) for f in HISTORY[:1]] + [(factories.received().subject, "x")]
    assert _streamed_digest(pairs) == _streamed_digest(reversed(pairs))
    assert _streamed_digest(pairs) == _sorted_digest(pairs)


def test_personal_data_is_masked_for_auditors_without_the_scope() -> None:
    data = {
        "citizen": {"name": "张三丰", "phone": "13800138000", "anonymous": False},
        "content": "停水",
    }
    assert domain.mask_personal_data(data) == {
        "citizen": {"name": "张**", "phone": "138****8000", "anonymous": False},
        "content": "停水",
    }
    assert domain.mask_personal_data({"reply": "已修复"}) == {"reply": "已修复"}


def test_an_identity_card_number_is_masked_too() -> None:
    citizen = {"name": None, "phone": None, "id_number": "11010519491231002X"}
    masked = domain.mask_personal_data({"citizen": citizen})
    assert masked["citizen"]["id_number"] == "110105********002X"


def test_the_streamed_overall_digest_equals_the_sorted_one() -> None:
    pairs = [(factories.received().subject, f"d{n}") for n in range(20)]
    streamed = domain.OverallDigest()
    for subject, digest in sorted(pairs, key=lambda p: p[0]):  # a uuid column's order
        streamed.add(subject, digest)
    assert streamed.hexdigest() == _sorted_digest(pairs)


def test_without_the_scope_addresses_coordinates_staff_and_numbers_in_text_are_masked() -> None:
    received = {
        "citizen": {"name": "李四", "phone": "13800138000", "anonymous": False},
        "content": "李四反映停水，回电 138 0013 8000 或 (010) 8765 4321",
        "location": {
            "address": "幸福路9号3单元",
            "district": "east",
            "lat": 31.2304,
            "long": 121.47,
        },
    }
    masked = domain.mask_personal_data(received)
    assert masked["location"] == {
        "address": "幸福路*****",
        "district": "east",
        "lat": None,
        "long": None,
    }
    assert "李四" not in masked["content"]
    assert "0013" not in masked["content"]
    assert "8765" not in masked["content"]
    signed = {"department": "water", "person": "王工程师", "deadline": "2024-05-01T18:00:00+08:00"}
    assert domain.mask_personal_data(signed) == {**signed, "person": "王***"}
    # the citizen's name known from the appeal's received fact is masked in a later reply
    reply = {"reply": "已联系李四，已修复", "parent": "3f1c2a7e-1234-4bcd-9e8f-123456789012"}
    later = domain.mask_personal_data(reply, names=domain.citizen_names([received]))
    assert later == {"reply": "已联系李*，已修复", "parent": reply["parent"]}
    # erased: no name left to find, so texts go whole; codes, ids and times stay
    gone = domain.mask_personal_data({**reply, **signed}, erased=True)
    assert gone == {
        **signed,
        "reply": "*" * len(reply["reply"]),
        "parent": reply["parent"],
        "person": "王***",
    }


def test_a_fact_the_tree_holds_but_the_appeal_no_longer_lists_fails_its_chain() -> None:
    chains = [domain.ChainReport("intake", 2, True), domain.ChainReport("dispatch", 3, True)]
    checked = domain.with_unlisted(
        chains, [("dispatch", "fact d moved"), ("feedback", "fact f moved")]
    )
    assert checked == [
        domain.ChainReport("intake", 2, True),
        domain.ChainReport("dispatch", 3, False, ("fact d moved",)),
        domain.ChainReport("feedback", 0, False, ("fact f moved",)),  # its only fact moved
    ]
    assert domain.with_unlisted(chains, []) == chains


def test_a_vouched_digest_reads_what_the_bytes_hash_to_from_the_hash_column() -> None:
    ordered = domain.timeline(HISTORY)
    without_bytes = [replace(fact, body="") for fact in ordered]
    assert domain.vouched_digest(without_bytes) == domain.digest(ordered)
