"""The centre closing a work order with no approved reply, or no callback, is flagged: read
from the timeline alone."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

from audit_service import domain
from audit_service.domain import closures
from shared import events
from tests.unit import factories

RECEIVED = factories.received()
ASSIGNED = factories.assigned(RECEIVED)


def _next(cls: type[events.Event], hours: float, **data: Any) -> events.Event:
    return cls(
        id=uuid4(),
        subject=RECEIVED.subject,
        time=factories.T0 + timedelta(hours=hours),
        actor="operator:wang",
        correlation_id=RECEIVED.correlation_id,
        **data,
    )


def _replied(hours: float, round_: int = 1) -> events.Event:
    return _next(
        events.Handled, hours, department="water", round=round_, result="solved", reply="已修复"
    )


def _approved(hours: float, round_: int = 1) -> events.Event:
    return _next(
        events.ReplyReviewed,
        hours,
        round=round_,
        department="water",
        decision="approved",
        callback_due=factories.T0 + timedelta(days=2),
    )


def _called(hours: float, round_: int = 1) -> events.Event:
    return _next(events.CallbackMade, hours, round=round_, attempt=1, reached=False)


def _closed(hours: float, basis: str = "operator") -> events.Event:
    return _next(events.Closed, hours, basis=basis, note="中心办结")


def _read(*history: events.Event) -> closures.Closure:
    return closures.closure(domain.timeline(factories.audit_facts([RECEIVED, ASSIGNED, *history])))


def test_closing_with_no_approved_reply_is_flagged() -> None:
    found = _read(_replied(2), _closed(3))
    assert (found.closed_by_operator, found.approved_reply, found.flagged) == (True, False, True)


def test_closing_an_approved_reply_nobody_called_back_about_is_flagged() -> None:
    found = _read(_replied(2), _approved(3), _closed(4))
    assert (found.approved_reply, found.called_back, found.flagged) == (True, False, True)


def test_closing_after_approval_and_a_callback_attempt_is_not_flagged() -> None:
    approval, call, close = _approved(3), _called(5), _closed(6)
    found = _read(_replied(2), approval, call, close)
    assert (found.approved_reply, found.called_back, found.flagged) == (True, True, False)
    assert set(found.facts) == {str(close.id), str(approval.id), str(call.id)}


def test_the_round_that_ended_is_the_one_asked_about() -> None:
    redo = _next(
        events.RedoOrdered,
        7,
        department="water",
        round=2,
        reason="仍未解决",
        deadlines=factories.DEADLINES,
    )
    found = _read(_replied(2), _approved(3), _called(5), redo, _closed(8))
    assert (found.approved_reply, found.called_back, found.flagged) == (False, False, True)


def test_a_rating_taken_otherwise_counts_as_asking_the_citizen() -> None:
    rated = _next(events.Rated, 5, round=1, satisfaction="dissatisfied", solved=False)
    assert not _read(_replied(2), _approved(3), rated, _closed(6)).flagged


def test_the_loop_closing_itself_is_not_the_centre_closing() -> None:
    assert not _read(_replied(2), _closed(3, basis="not_rated")).flagged
    assert not _read(_replied(2)).flagged  # still open
