"""Facts as Open311 updates: one per public fact, the extended status after it (open311.md
§9), public text only."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from intake_service import handlers
from intake_service.open311 import statuses
from intake_service.open311.statuses import Update
from shared import events
from tests.unit import factories


def _every_fact() -> list[events.Event]:
    received, assigned, handled, rated, closed = factories.full_history()
    return [
        received,
        *factories.intake_facts(received),
        assigned,
        *factories.dispatch_facts(assigned),
        handled,
        rated,
        *factories.feedback_facts(handled),
        closed,
    ]


def _follow(*facts: events.Event) -> list[Update]:
    """The updates the facts make when recorded in this order."""
    recorded: list[Update] = []
    for fact in facts:
        update = statuses.update_for(fact, recorded)
        if update is not None:
            recorded = sorted([*recorded, update], key=lambda u: u.at)
    return recorded


def _later(cls: type[events.Event], cause: events.Event, minutes: int, **fields: Any) -> Any:
    return cls(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(minutes=minutes),
        actor="operator:li",
        correlation_id=cause.correlation_id,
        **fields,
    )


def _of(facts: Sequence[events.Event], cls: type[events.Event]) -> events.Event:
    return next(f for f in facts if isinstance(f, cls))


def test_every_fact_type_is_an_update_or_named_internal() -> None:
    facts = _every_fact()
    assert {f.type for f in facts} == set(events.EVENT_TYPES)
    for fact in facts:
        update = statuses.update_for(fact, [])
        assert (update is None) == (fact.type in statuses.INTERNAL), fact.type
        assert statuses.is_public(type(fact)) == (update is not None)
        if update is not None:
            assert update.status in statuses.STATUSES, fact.type
            assert (update.update_id, update.appeal_id) == (fact.id, fact.subject)
            assert (update.fact_type, update.at) == (fact.type, fact.time)
            assert update.description


def test_the_happy_path_in_extended_statuses() -> None:
    received, assigned, handled, rated, closed = factories.full_history()
    forwarded = _of(factories.intake_facts(received), events.AppealForwarded)
    forwarded = forwarded.model_copy(update={"time": received.time + timedelta(milliseconds=1)})
    signed = _of(factories.dispatch_facts(assigned), events.SignedFor)
    updates = _follow(received, forwarded, assigned, signed, handled, rated, closed)
    assert [u.status for u in updates] == [
        "for_triage",
        "for_triage",
        "open",
        "in_progress",
        "fixed",
        "fixed",
        "closed",
    ]
    assert updates[2].description == "已派至 water，待签收 Dispatched to water"
    assert (updates[2].department, updates[2].due) == ("water", factories.DEADLINES.handle_due)
    assert [u.department for u in updates].count(None) == 6  # only assignments name a lead
    assert updates[4].description.endswith("已抢修供水管道 恢复供水")
    assert "满意 satisfied" in updates[5].description


@pytest.mark.parametrize(
    ("cls", "fields", "status"),
    [
        (events.AnsweredDirectly, {"answer": "营业厅缴费"}, "closed"),
        (
            events.TransferredToEmergency,
            {"line": "119", "mode": "one_click", "external_reference": "119-1"},
            "closed",
        ),
        (
            events.AppealRejected,
            {"reason": "已诉讼", "legal_route": "litigation", "explanation": "请向法院起诉"},
            "not_councils_responsibility",
        ),
        (events.MergedInto, {"parent": uuid4(), "reason": "重复"}, "duplicate"),
        (
            events.AppealClassified,
            {
                "category": "water.pressure",
                "appeal_type": "complaint",
                "urgency": "normal",
                "previous_category": "water.outage",
                "reason": "水压不足",
            },
            "for_triage",
        ),
    ],
)
def test_front_office_outcomes(
    cls: type[events.Event], fields: dict[str, Any], status: str
) -> None:
    received = factories.received()
    [_, update] = _follow(received, _later(cls, received, 2, **fields))
    assert update.status == status


def test_the_department_reply_fixes_or_takes_no_further_action() -> None:
    _, _, handled, _, _ = factories.full_history()
    for result, status in (
        ("solved", "fixed"),
        ("explained", "no_further_action"),
        ("unsolvable", "no_further_action"),
    ):
        reply = handled.model_copy(update={"id": uuid4(), "result": result})
        update = statuses.update_for(reply, [])
        assert update is not None
        assert update.status == status
        assert update.description == "water 答复 Reply from water: 已抢修供水管道 恢复供水"


def _described(event: events.Event) -> str:
    update = statuses.update_for(event, [])
    assert update is not None
    return update.description


def test_an_undone_merge_goes_back_to_what_it_was() -> None:
    received, assigned, *_ = factories.full_history()
    parent = uuid4()
    merged = _later(events.MergedInto, assigned, 10, parent=parent, reason="重复")
    unmerged = _later(events.Unmerged, assigned, 20, parent=parent, reason="并单有误")
    updates = _follow(received, assigned, merged, unmerged)
    assert [u.status for u in updates] == ["for_triage", "open", "duplicate", "open"]
    assert str(parent) in updates[-1].description


def test_a_return_is_a_referral_and_a_refused_one_goes_back() -> None:
    received, assigned, *_ = factories.full_history()
    facts = factories.dispatch_facts(assigned)
    signed = _of(facts, events.SignedFor)
    asked = _later(
        events.ReturnRequested,
        signed,
        1,
        department="water",
        reason_code="not-our-duty",
        legal_basis="第二条",
    )
    refused = _later(events.ReturnDenied, signed, 2, department="water", reasoning="属于职责")
    approved = _later(events.ReturnApproved, signed, 3, department="water", reasoning="属实")
    moved = _later(
        events.Redispatched,
        signed,
        4,
        department="power",
        previous_department="water",
        routing_rule="operator",
        routing_version=1,
        reason="供电问题",
        deadlines=factories.DEADLINES,
    )
    refused_path = _follow(received, assigned, signed, asked, refused)
    assert [u.status for u in refused_path][2:] == [
        "in_progress",
        "internal_referral",
        "in_progress",
    ]
    later = _follow(received, assigned, signed, asked, approved, moved)
    assert [u.status for u in later][-3:] == ["internal_referral"] * 3
    assert "not-our-duty" in later[3].description
    assert "power" in later[-1].description


def test_facts_that_move_no_stage_keep_the_status() -> None:
    received, assigned, handled, _, _ = factories.full_history()
    signed = _of(factories.dispatch_facts(assigned), events.SignedFor)
    extension = _of(factories.dispatch_facts(assigned), events.ExtensionApproved)
    not_rated, approved, callback, *_ = factories.feedback_facts(handled)
    assert [u.status for u in _follow(received, assigned, signed, extension)][-1] == "in_progress"
    assert "2026-10-24T16:30:00+08:00" in _described(extension)  # the new deadline, local
    after_reply = _follow(received, assigned, signed, handled, approved, callback, not_rated)
    assert [u.status for u in after_reply][-3:] == ["fixed"] * 3
    assert "回访" in after_reply[-2].description


def test_a_sent_back_reply_is_in_progress_again_and_a_redo_reopens() -> None:
    received, assigned, handled, rated, _ = factories.full_history()
    sent_back = _later(
        events.ReplyReviewed,
        handled,
        5,
        round=1,
        department="water",
        decision="sent_back",
        reason="答复不完整",
    )
    redo = _of(factories.dispatch_facts(assigned), events.RedoOrdered)
    redo = redo.model_copy(update={"time": rated.time + timedelta(minutes=1)})
    assert _follow(received, assigned, handled, sent_back)[-1].status == "in_progress"
    assert _follow(received, assigned, handled, rated, redo)[-1].status == "reopen"


def test_a_fact_that_arrives_late_finds_only_its_own_past() -> None:
    """dispatch's sign-for can reach intake after feedback's reply: the reply keeps `fixed`,
    and a rating recorded later still sees the reply as the latest update before it."""
    received, assigned, handled, rated, _ = factories.full_history()
    signed = _of(factories.dispatch_facts(assigned), events.SignedFor)
    signed = signed.model_copy(update={"time": handled.time - timedelta(minutes=30)})
    updates = _follow(received, assigned, handled, signed, rated)
    assert [(u.fact_type, u.status) for u in updates] == [
        ("appeal.received", "for_triage"),
        ("appeal.assigned", "open"),
        ("appeal.signed_for", "in_progress"),
        ("appeal.handled", "fixed"),
        ("appeal.rated", "fixed"),
    ]


def test_descriptions_carry_no_personal_data() -> None:
    received, assigned, handled, *_ = factories.full_history()
    signed = _of(factories.dispatch_facts(assigned), events.SignedFor)
    reply = handled.model_copy(update={"id": uuid4(), "reply": "已联系张先生 13800138000"})
    answered = _later(events.AnsweredDirectly, received, 1, answer="请致电 13912345678")
    described = " ".join(_described(f) for f in (received, signed, reply, answered))
    assert "李工" not in described  # the person who signed for it
    assert "13800138000" not in described
    assert "138****8000" in described
    assert "139****5678" in described
    assert "张三" not in described


def test_the_consumer_records_updates_for_every_public_dispatch_and_feedback_fact() -> None:
    public = {
        t for t in events.EVENT_TYPES.values() if t.source != "intake" and statuses.is_public(t)
    }
    assert public <= set(handlers.HANDLERS)
    assert events.Supervised not in handlers.HANDLERS
