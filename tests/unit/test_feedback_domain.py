from uuid import uuid4

import pytest

from feedback_service import domain
from shared import events
from shared.errors import InvalidTransitionError, NotPermittedError
from tests.unit import factories

REPLY = domain.Reply(result="solved", reply="已修复")
RATING = domain.Rating(satisfaction="basically_satisfied", solved=True)


def _holder(
    assigned: events.Assigned, *, signed_for: bool = True, round_: int = 1
) -> domain.Holder:
    return domain.Holder(
        assigned.department, assigned.id, assigned.correlation_id, round_, signed_for
    )


def _handle(
    state: domain.Feedback, holder: domain.Holder | None, department: str | None
) -> list[events.Event]:
    return domain.handle(
        state,
        REPLY,
        appeal_id=uuid4(),
        holder=holder,
        department=department,
        actor=f"department:{department}",
        event_id=uuid4(),
        now=factories.T0,
    )


ASSIGNED = factories.assigned(factories.received())


def test_the_holding_department_replies_after_signing_for() -> None:
    [fact] = _handle(domain.Feedback(), _holder(ASSIGNED), "water")
    assert isinstance(fact, events.Handled)
    assert (fact.department, fact.causation_id, fact.result, fact.round) == (
        "water",
        ASSIGNED.id,
        "solved",
        1,
    )


def test_no_reply_before_sign_for() -> None:
    with pytest.raises(InvalidTransitionError, match="must sign for"):
        _handle(domain.Feedback(), _holder(ASSIGNED, signed_for=False), "water")


@pytest.mark.parametrize("department", ["power", None])
def test_another_department_or_an_operator_may_not_reply(department: str | None) -> None:
    with pytest.raises(NotPermittedError, match="held by water"):
        _handle(domain.Feedback(), _holder(ASSIGNED), department)


def test_no_reply_before_assignment() -> None:
    with pytest.raises(InvalidTransitionError, match="not been assigned"):
        _handle(domain.Feedback(), None, "water")


def test_one_reply_per_round_and_a_redo_opens_the_next() -> None:
    state = domain.evolve(
        domain.Feedback(), _handle(domain.Feedback(), _holder(ASSIGNED), "water")[0]
    )
    with pytest.raises(InvalidTransitionError, match="already has a reply in round 1"):
        _handle(state, _holder(ASSIGNED), "water")
    [again] = _handle(state, _holder(ASSIGNED, round_=2), "water")
    assert isinstance(again, events.Handled)
    assert again.round == 2


def _rate(state: domain.Feedback) -> list[events.Event]:
    return domain.rate(
        state, RATING, appeal_id=uuid4(), actor="operator:wang", event_id=uuid4(), now=factories.T0
    )


def test_a_handled_round_is_rated_once() -> None:
    handled = factories.handled(ASSIGNED)
    state = domain.evolve(domain.Feedback(), handled)
    [fact] = _rate(state)
    assert isinstance(fact, events.Rated)
    assert (fact.causation_id, fact.satisfaction, fact.round) == (
        handled.id,
        "basically_satisfied",
        1,
    )
    rated = domain.evolve(state, fact)
    with pytest.raises(InvalidTransitionError, match="already rated in round 1"):
        _rate(rated)
    second_round = domain.evolve(rated, handled.model_copy(update={"round": 2, "id": uuid4()}))
    [second] = _rate(second_round)
    assert isinstance(second, events.Rated)
    assert second.round == 2


def test_nothing_to_rate_before_a_reply() -> None:
    with pytest.raises(InvalidTransitionError, match="no reply"):
        _rate(domain.Feedback())


def _expire(state: domain.Feedback, round_: int) -> list[events.Event]:
    return domain.expire_rating(
        state,
        round_=round_,
        window_closed_at=factories.T0,
        appeal_id=uuid4(),
        actor="service:feedback",
        event_id=uuid4(),
        now=factories.T0,
    )


def test_a_closed_rating_window_is_recorded_as_not_rated_and_settles_the_round() -> None:
    handled = factories.handled(ASSIGNED)
    state = domain.evolve(domain.Feedback(), handled)
    [fact] = _expire(state, 1)
    assert isinstance(fact, events.NotRated)
    assert (fact.round, fact.causation_id) == (1, handled.id)
    settled = domain.evolve(state, fact)
    with pytest.raises(InvalidTransitionError, match="rating window closed"):
        _rate(settled)
    assert _expire(settled, 1) == []


def test_a_rated_or_superseded_round_is_not_marked_not_rated() -> None:
    handled = factories.handled(ASSIGNED)
    state = domain.evolve(domain.Feedback(), handled)
    rated = domain.evolve(state, _rate(state)[0])
    assert _expire(rated, 1) == []
    assert _expire(state, 2) == []  # a window for a round that has no reply yet
