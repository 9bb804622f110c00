from uuid import uuid4

import pytest

from feedback_service import domain
from shared import events
from shared.errors import InvalidTransitionError, NotPermittedError
from tests.unit import factories

REPLY = domain.Reply(result="solved", reply="已修复")
RATING = domain.Rating(satisfaction="basically_satisfied", solved=True)


def _holder(assigned: events.Assigned) -> domain.Holder:
    return domain.Holder(assigned.department, assigned.id, assigned.correlation_id)


def _handle(
    state: domain.Feedback, assigned: events.Assigned | None, department: str | None
) -> list[events.Event]:
    appeal_id = assigned.subject if assigned else uuid4()
    return domain.handle(
        state,
        REPLY,
        appeal_id=appeal_id,
        holder=_holder(assigned) if assigned else None,
        department=department,
        actor=f"department:{department}",
        event_id=uuid4(),
        now=factories.T0,
    )


def test_the_holding_department_replies() -> None:
    assigned = factories.assigned(factories.received())
    [fact] = _handle(domain.Feedback(), assigned, "water")
    assert isinstance(fact, events.Handled)
    assert (fact.department, fact.causation_id, fact.result) == ("water", assigned.id, "solved")


def test_another_department_may_not_reply() -> None:
    with pytest.raises(NotPermittedError, match="held by water"):
        _handle(domain.Feedback(), factories.assigned(factories.received()), "power")


def test_an_operator_token_without_department_may_not_reply() -> None:
    with pytest.raises(NotPermittedError):
        _handle(domain.Feedback(), factories.assigned(factories.received()), None)


def test_no_reply_before_assignment() -> None:
    with pytest.raises(InvalidTransitionError, match="not been assigned"):
        _handle(domain.Feedback(), None, "water")


def test_one_reply_per_round() -> None:
    assigned = factories.assigned(factories.received())
    state = domain.evolve(domain.Feedback(), _handle(domain.Feedback(), assigned, "water")[0])
    with pytest.raises(InvalidTransitionError, match="already has a reply"):
        _handle(state, assigned, "water")


def _rate(state: domain.Feedback) -> list[events.Event]:
    return domain.rate(
        state, RATING, appeal_id=uuid4(), actor="operator:wang", event_id=uuid4(), now=factories.T0
    )


def test_a_handled_appeal_is_rated_once() -> None:
    handled = factories.handled(factories.assigned(factories.received()))
    state = domain.evolve(domain.Feedback(), handled)
    [fact] = _rate(state)
    assert isinstance(fact, events.Rated)
    assert (fact.causation_id, fact.satisfaction) == (handled.id, "basically_satisfied")
    with pytest.raises(InvalidTransitionError, match="already rated"):
        _rate(domain.evolve(state, fact))


def test_nothing_to_rate_before_a_reply() -> None:
    with pytest.raises(InvalidTransitionError, match="no reply"):
        _rate(domain.Feedback())
