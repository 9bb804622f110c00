"""Rounds and limits on the pure work order, with the clock passed in: a redo is decided on
what the citizen said and bounded by policy, past which the centre takes the appeal over;
extensions are capped per appeal as well as per request."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from dispatch_service import domain
from dispatch_service.domain import routing, sla
from feedback_service.domain import replies
from feedback_service.domain import state as feedback_state
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError
from shared.workdays import SEED
from tests.unit import factories

TABLE = routing.RoutingTable(
    version=1,
    fallback_department="gov-city",
    rules=(routing.RoutingRule("city:water", "water.outage", None, "water"),),
)
NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # Monday 12 October 2026, 10:00 Beijing
POLICY = replace(sla.DEMO_POLICY, max_redo_rounds=1, max_extension_days_total=8)


def ctx(now: datetime = NOW) -> Context:
    return Context(actor="operator:wang", now=now, new_id=uuid4)


def fold(history: Sequence[events.Event]) -> domain.WorkOrder:
    order = None
    for event in history:
        order = domain.evolve(order, event)
    assert order is not None
    return order


def signed() -> list[events.Event]:
    forwarded = factories.forwarded(factories.received(at=NOW))
    history = domain.assign(
        None, forwarded, table=TABLE, policy=POLICY, calendar=SEED, context=ctx()
    )
    history += domain.sign_for(fold(history), department="water", person="李工", context=ctx())
    return history


def rating(
    satisfaction: events.Satisfaction,
    *,
    solved: bool,
    at_fault: bool | None = None,
    round_: int = 1,
) -> events.Rated:
    return events.Rated(
        id=uuid4(),
        subject=uuid4(),
        time=NOW,
        actor="operator:zhao",
        correlation_id=uuid4(),
        round=round_,
        satisfaction=satisfaction,
        solved=solved,
        department_at_fault=at_fault,
    )


def decide(order: domain.WorkOrder, rated: events.Rated) -> list[events.Event]:
    return domain.close_or_redo(order, rated, policy=POLICY, calendar=SEED, context=ctx())


def test_dissatisfied_alone_closes_when_solved_and_the_department_not_at_fault() -> None:
    [closed] = decide(fold(signed()), rating("dissatisfied", solved=True, at_fault=False))
    assert isinstance(closed, events.Closed)
    assert closed.basis == "rated_dissatisfied"


@pytest.mark.parametrize(("solved", "at_fault"), [(False, None), (True, True), (False, True)])
def test_unsolved_or_at_fault_orders_a_redo(solved: bool, at_fault: bool | None) -> None:
    [redo] = decide(fold(signed()), rating("dissatisfied", solved=solved, at_fault=at_fault))
    assert isinstance(redo, events.RedoOrdered)
    assert redo.round == 2
    reason = "department was at fault" if at_fault else "not solved"
    assert reason in redo.reason


def test_satisfied_with_an_unsolvable_demand_closes() -> None:
    [closed] = decide(fold(signed()), rating("basically_satisfied", solved=False))
    assert isinstance(closed, events.Closed)
    assert closed.basis == "rated_satisfied"


def test_past_the_redo_rounds_the_appeal_goes_to_the_centre() -> None:
    history = signed()
    history += decide(fold(history), rating("dissatisfied", solved=False))
    order = fold(history)
    assert order.round == 2  # the one redo the policy allows
    [escalated] = decide(order, rating("dissatisfied", solved=False, round_=2))
    assert isinstance(escalated, events.EscalatedToCentre)
    assert (escalated.department, escalated.round, escalated.redo_rounds) == ("water", 2, 1)
    order = fold([*history, escalated])
    assert (order.stage, order.is_open) == ("escalated", True)
    # nothing more happens on ratings; the centre closes or reassigns
    assert decide(order, rating("dissatisfied", solved=False, round_=2)) == []
    assert domain.due_signals(order, handled=True, context=ctx(NOW + timedelta(days=90))) == []
    [closed] = domain.close(order, note="中心研判后办结", context=ctx())
    assert isinstance(closed, events.Closed)
    [moved] = domain.reassign(
        order,
        department="gov-city",
        assisting=(),
        reason="提级办理",
        routing_version=1,
        policy=POLICY,
        calendar=SEED,
        replied=True,  # water replied in round 2, and was rated
        context=ctx(),
    )
    assert isinstance(moved, events.Redispatched)
    assert moved.round == 3  # a round of its own: gov-city replies and is rated anew
    after = fold([*history, escalated, moved])
    assert (after.stage, after.department) == ("assigned", "gov-city")
    assert (after.round, after.redos) == (3, 1)
    # feedback takes gov-city's reply in its round, though water replied in round 2
    holder = feedback_state.Holder(
        "gov-city", moved.id, after.correlation_id, round=3, signed_for=True
    )
    replied = feedback_state.Feedback(handled_round=2, approved_round=2, rated_round=2)
    [reply] = replies.handle(
        replied, replies.Reply("solved", "已协调解决"), appeal_id=after.appeal_id, holder=holder,
        department="gov-city", context=ctx(),
    )  # fmt: skip
    assert isinstance(reply, events.Handled)
    assert (reply.department, reply.round) == ("gov-city", 3)
    # water's reply of round 2, not yet reviewed, is not the one reviewed now: superseded
    unreviewed = feedback_state.Feedback(
        handled_round=2, handled_by="water", handled_event_id=uuid4()
    )
    with pytest.raises(InvalidTransitionError, match="superseded"):
        replies.review(
            unreviewed, replies.ReviewDecision("approved"), appeal_id=after.appeal_id,
            holder=holder, callback_due=NOW, calendar=SEED.version,
            rating_window=timedelta(hours=72), context=ctx(),
        )  # fmt: skip
    # and dispatch's clock runs for gov-city until it replies in round 3
    assert domain.next_signal_at(after, handled=after.round <= 2) is not None
    # a dissatisfied rating of round 3 goes back to the centre: the redo rounds are spent
    [again] = decide(after, rating("dissatisfied", solved=False, round_=3))
    assert isinstance(again, events.EscalatedToCentre)


def _extension(order: domain.WorkOrder, days: int, now: datetime = NOW) -> list[events.Event]:
    return domain.request_extension(
        order,
        department="water",
        working_days=days,
        reason="需更换主管道",
        legal_basis="规定",
        policy=POLICY,
        context=ctx(now),
    )


def test_extensions_are_capped_per_appeal_as_well_as_per_request() -> None:
    history = signed()
    with pytest.raises(InvalidTransitionError, match="at most 10"):
        _extension(fold(history), 11)
    history += _extension(fold(history), 5)
    history += domain.approve_extension(fold(history), policy=POLICY, calendar=SEED, context=ctx())
    order = fold(history)
    assert order.extended_days_total == 5
    with pytest.raises(InvalidTransitionError, match="capped at 8 working days in all; 3 are left"):
        _extension(order, 4)
    [request] = _extension(order, 3)
    assert isinstance(request, events.ExtensionRequested)


def test_the_cap_counts_extensions_across_redo_rounds() -> None:
    history = signed()
    history += _extension(fold(history), 8)
    history += domain.approve_extension(fold(history), policy=POLICY, calendar=SEED, context=ctx())
    history += decide(fold(history), rating("dissatisfied", solved=False))
    order = fold(history)
    history += domain.sign_for(order, department="water", person="李工", context=ctx())
    with pytest.raises(InvalidTransitionError, match="0 are left"):
        _extension(fold(history), 1)


def test_an_old_policy_document_gets_the_default_limits() -> None:
    document = sla.to_document(sla.DEMO_POLICY)
    del document["max_redo_rounds"], document["max_extension_days_total"]
    old = sla.from_document(1, document)
    assert (old.max_redo_rounds, old.max_extension_days_total) == (2, 20)


def _ask_return(order: domain.WorkOrder, at: datetime, *, replied: bool = False) -> list[Any]:
    return domain.request_return(
        order, department="water", reason_code="not-ours", legal_basis="三定方案",
        explanation=None, policy=POLICY, calendar=SEED, replied=replied, context=ctx(at),
    )  # fmt: skip


def test_a_redo_does_not_reopen_the_return_window() -> None:
    """The window runs from when the department got the order (2 working days), not from a
    redo of its own handling two weeks later: a redo counts against the unit."""
    history = signed()
    later = NOW + timedelta(days=14)
    history += domain.close_or_redo(
        fold(history), rating("dissatisfied", solved=False), policy=POLICY, calendar=SEED,
        context=ctx(later),
    )  # fmt: skip
    assert (fold(history).round, fold(history).stage) == (2, "assigned")
    with pytest.raises(InvalidTransitionError, match="return window closed"):
        _ask_return(fold(history), later + timedelta(hours=1))


def test_a_department_that_replied_cannot_return_the_order() -> None:
    order = fold(signed())
    assert _ask_return(order, NOW + timedelta(hours=2))  # in the window, before replying
    with pytest.raises(InvalidTransitionError, match="has replied in round 1"):
        _ask_return(order, NOW + timedelta(hours=2), replied=True)


def test_a_redo_round_is_not_withdrawn() -> None:
    history = signed()
    history += decide(fold(history), rating("dissatisfied", solved=False))
    order = fold(history)
    assert (order.round, order.stage) == (2, "assigned")
    asked = events.WithdrawalRequested(
        id=uuid4(), subject=order.appeal_id, time=NOW, actor="operator:li",
        correlation_id=order.correlation_id, outcome="answered", reason="知识库已答复",
        details={},
    )  # fmt: skip
    [refused] = domain.withdraw(order, asked, context=ctx())
    assert isinstance(refused, events.WithdrawalRefused)
    assert "redoing it (round 2)" in refused.reason


def test_a_return_pending_when_a_redo_is_ordered_is_still_arbitrated() -> None:
    history = signed()
    history += _ask_return(fold(history), NOW + timedelta(hours=1))
    history += decide(fold(history), rating("dissatisfied", solved=False))
    order = fold(history)
    assert (order.round, order.stage) == (2, "return_requested")
    history += domain.deny_return(order, reasoning="属职责", context=ctx())
    assert fold(history).stage == "assigned"  # back to the redo, awaiting sign-for
