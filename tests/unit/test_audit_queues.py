"""Who held an appeal at a moment, from the facts alone."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from audit_service import domain
from audit_service.domain import queues
from shared import events
from tests.unit import factories

T0 = factories.T0


def _at(base: events.Event, cls: type[events.Event], hours: float, **data: Any) -> events.Event:
    return cls(
        id=uuid4(),
        subject=base.subject,
        time=T0 + timedelta(hours=hours),
        actor="x",
        correlation_id=base.correlation_id,
        **data,
    )


def _holder(history: list[events.Event], hours: float) -> queues.Held | None:
    return queues.holding(
        domain.timeline(factories.audit_facts(history)), T0 + timedelta(hours=hours)
    )


def test_a_fresh_assignment_is_in_the_queue_with_its_deadlines() -> None:
    assigned = factories.assigned(factories.received())
    held = _holder([assigned], 1)
    assert held is not None
    assert (held.department, held.stage, held.signed, held.sign_for_overdue) == (
        "water",
        "assigned",
        False,
        False,
    )
    assert held.handle_due == factories.DEADLINES.handle_due.isoformat()
    assert held.facts == (str(assigned.id),)
    late = _holder([assigned], 25)  # a day and an hour on, still unsigned
    assert late is not None
    assert late.sign_for_overdue


def test_stages_follow_the_holding_department_and_an_extension_moves_the_deadline() -> None:
    assigned = factories.assigned(factories.received())
    moved = factories.DEADLINES.model_copy(
        update={"handle_due": factories.DEADLINES.handle_due + timedelta(days=5)}
    )
    history = [
        assigned,
        _at(assigned, events.SignedFor, 1, department="water", person="李"),
        _at(
            assigned,
            events.ExtensionRequested,
            2,
            department="water",
            working_days=5,
            reason="需更换管道",
            legal_basis="办理规定",
        ),
        _at(
            assigned,
            events.ExtensionApproved,
            3,
            department="water",
            working_days=5,
            previous_handle_due=factories.DEADLINES.handle_due,
            deadlines=moved,
        ),
        _at(assigned, events.AssistContributed, 4, department="roads", content="已封路"),
    ]
    asked = _holder(history[:3], 2)
    assert asked is not None
    assert (asked.stage, asked.extension_pending) == ("signed_for", True)
    held = _holder(history, 5)
    assert held is not None
    assert (held.stage, held.extension_pending, held.handle_due) == (
        "signed_for",
        False,
        moved.handle_due.isoformat(),
    )
    assert len(held.facts) == 4  # the assist did not move the stage


def test_a_denied_return_keeps_it_and_an_approved_one_hands_it_on() -> None:
    assigned = factories.assigned(factories.received())
    asked = _at(
        assigned,
        events.ReturnRequested,
        1,
        department="water",
        reason_code="not-ours",
        legal_basis="三定",
    )
    denied = _at(assigned, events.ReturnDenied, 2, department="water", reasoning="属职责")
    again = _at(
        assigned,
        events.ReturnRequested,
        3,
        department="water",
        reason_code="not-ours",
        legal_basis="三定",
    )
    approved = _at(assigned, events.ReturnApproved, 4, department="water", reasoning="ok")
    redispatched = _at(
        assigned,
        events.Redispatched,
        5,
        department="power",
        previous_department="water",
        routing_rule="operator",
        routing_version=1,
        reason="改派",
        deadlines=factories.DEADLINES,
    )
    pending = _holder([assigned, asked], 1)
    assert pending is not None
    assert pending.stage == "return_requested"
    kept = _holder([assigned, asked, denied], 2)
    assert kept is not None
    assert (kept.department, kept.stage) == ("water", "assigned")
    assert _holder([assigned, asked, denied, again, approved], 4) is None  # nobody's
    moved = _holder([assigned, asked, denied, again, approved, redispatched], 5)
    assert moved is not None
    assert (moved.department, moved.stage) == ("power", "assigned")


def test_closed_appeals_leave_the_queue_and_a_redo_brings_them_back() -> None:
    received, assigned, handled, rated, closed = factories.full_history()
    replied = _holder([assigned, handled], 4)
    assert replied is not None
    assert (replied.stage, replied.replied) == ("replied", True)
    assert _holder([assigned, handled, rated, closed], 48) is None
    redo = _at(
        assigned,
        events.RedoOrdered,
        30,
        department="water",
        round=2,
        reason="不满意",
        deadlines=factories.DEADLINES,
    )
    again = _holder([received, assigned, handled, rated, redo], 31)
    assert again is not None
    assert (again.stage, again.replied) == ("redo", False)


def test_a_withdrawn_order_leaves_the_queue() -> None:
    assigned = factories.assigned(factories.received())
    withdrawn = _at(
        assigned, events.Withdrawn, 2, department="water", outcome="answered", reason="知识库答复"
    )
    assert _holder([assigned], 1) is not None
    assert _holder([assigned, withdrawn], 3) is None


def test_recomputed_deadlines_are_the_ones_in_force() -> None:
    assigned = factories.assigned(factories.received())
    later = factories.DEADLINES.model_copy(
        update={"handle_due": factories.DEADLINES.handle_due + timedelta(days=1)}
    )
    recomputed = _at(
        assigned,
        events.DeadlinesRecomputed,
        2,
        department="water",
        years=(2027,),
        previous=factories.DEADLINES,
        deadlines=later,
    )
    held = _holder([assigned, recomputed], 3)
    assert held is not None
    assert held.handle_due == later.handle_due.isoformat()


def _assisting(
    history: list[events.Event], hours: float, department: str = "urban-east"
) -> queues.Assisting | None:
    timeline = domain.timeline(factories.audit_facts(history))
    return queues.assisting(timeline, T0 + timedelta(hours=hours), department)


def _ask(base: events.Event, hours: float, due_hours: float) -> events.Event:
    return _at(
        base,
        events.AssistRequested,
        hours,
        department="urban-east",
        lead="water",
        due=T0 + timedelta(hours=due_hours),
        policy_version=1,
        calendar="chinese-calendar-1.11.0",
        provisional_years=(2027,),
    )


def test_an_assisting_department_has_the_order_on_its_own_deadline_and_state() -> None:
    assigned = factories.assigned(factories.received())
    ask = _ask(assigned, 0, 72)
    assert _assisting([assigned], 1) is None  # not asked
    asked = _assisting([assigned, ask], 1)
    assert asked is not None
    assert (asked.department, asked.lead, asked.state) == ("urban-east", "water", "asked")
    assert (asked.due, asked.facts) == ((T0 + timedelta(hours=72)).isoformat(), (str(ask.id),))
    assert _assisting([assigned, ask], 1, department="parks") is None  # not its ask
    late = _assisting([assigned, ask], 73)
    assert late is not None
    assert late.state == "overdue"
    # a recomputed deadline stands; a contribution settles the ask
    moved = _at(
        assigned,
        events.AssistDeadlineRecomputed,
        2,
        department="urban-east",
        years=(2027,),
        previous_due=T0 + timedelta(hours=72),
        due=T0 + timedelta(hours=96),
        policy_version=1,
        calendar="chinese-calendar-1.11.0+published.1",
    )
    still = _assisting([assigned, ask, moved], 73)
    assert still is not None
    assert (still.state, still.due) == ("asked", (T0 + timedelta(hours=96)).isoformat())
    warned = _at(
        assigned, events.AssistWarned, 78, department="urban-east", due=T0 + timedelta(hours=96)
    )
    given = _at(assigned, events.AssistContributed, 80, department="urban-east", content="意见")
    done = _assisting([assigned, ask, moved, warned, given], 100)
    assert done is not None
    assert done.state == "contributed"
    assert done.facts == tuple(str(f.id) for f in (ask, moved, warned, given))


def test_a_new_lead_or_a_closure_ends_the_ask() -> None:
    assigned = factories.assigned(factories.received())
    ask = _ask(assigned, 0, 72)
    redispatched = _at(
        assigned,
        events.Redispatched,
        5,
        department="power",
        previous_department="water",
        routing_rule="r",
        routing_version=1,
        deadlines=factories.DEADLINES,
        reason="改派",
    )
    assert _assisting([assigned, ask, redispatched], 6) is None
    closed = _at(assigned, events.Closed, 5, basis="operator")
    assert _assisting([assigned, ask, closed], 6) is None
