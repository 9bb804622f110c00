"""Every work-order transition, and every refused one, on the pure domain."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from dispatch_service import domain, views
from dispatch_service.domain import routing, sla
from dispatch_service.store import work_orders as stored
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError, NotPermittedError
from shared.workdays import WorkdayCalendar
from tests.unit import factories

CALENDAR = WorkdayCalendar()
POLICY = sla.DEMO_POLICY
TABLE = routing.RoutingTable(
    version=7,
    fallback_department="gov-city",
    rules=(
        routing.RoutingRule("city:noise", "environment.noise", None, "environment"),
        routing.RoutingRule(
            "east:noise", "environment.noise", "east", "urban-east", ("public-security",)
        ),
        routing.RoutingRule("city:water", "water.outage", None, "water", ("urban-east",)),
    ),
)
# Thursday 9 October 2025, 10:00 in Beijing: the first working day after National Day week
NOW = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)


def ctx(now: datetime = NOW, actor: str = "operator:wang") -> Context:
    return Context(actor=actor, now=now, new_id=uuid4)


def fold(history: Sequence[events.Event]) -> domain.WorkOrder:
    order = None
    for event in history:
        order = domain.evolve(order, event)
    assert order is not None
    return order


def assigned_order(category: str = "water.outage") -> tuple[list[events.Event], domain.WorkOrder]:
    forwarded = factories.forwarded(factories.received(category=category, at=NOW))
    history = domain.assign(
        None,
        forwarded,
        table=TABLE,
        policy=POLICY,
        calendar=CALENDAR,
        context=ctx(actor="service:dispatch"),
    )
    return history, fold(history)


def then(history: list[events.Event], new: list[events.Event]) -> domain.WorkOrder:
    history.extend(new)
    return fold(history)


def signed_order() -> tuple[list[events.Event], domain.WorkOrder]:
    history, order = assigned_order()
    order = then(history, domain.sign_for(order, department="water", person="李工", context=ctx()))
    return history, order


# --- routing -------------------------------------------------------------------------------


def test_a_district_rule_beats_a_city_wide_one() -> None:
    east = routing.route(TABLE, category="environment.noise", district="east")
    west = routing.route(TABLE, category="environment.noise", district="west")
    assert (east.department, east.rule_id, east.assisting) == (
        "urban-east",
        "east:noise",
        ("public-security",),
    )
    assert (west.department, west.rule_id) == ("environment", "city:noise")


def test_what_no_rule_covers_falls_to_the_fallback_owner() -> None:
    rule = routing.route(TABLE, category="unknown.thing", district="east")
    assert (rule.department, rule.rule_id) == ("gov-city", routing.FALLBACK_RULE)


def test_assignment_records_rule_versions_and_deadlines() -> None:
    [fact, ask], order = assigned_order()
    assert isinstance(fact, events.Assigned)
    assert isinstance(ask, events.AssistRequested)  # the assisting department's own clock
    assert (ask.department, ask.lead, ask.causation_id) == ("urban-east", "water", fact.id)
    assert (fact.department, fact.assisting, fact.routing_rule, fact.routing_version) == (
        "water",
        ("urban-east",),
        "city:water",
        7,
    )
    assert (fact.deadlines.policy_version, fact.deadlines.calendar) == (1, CALENDAR.version)
    # a complaint: sign for within 1 working day, handle within 15, both from assignment
    assert fact.deadlines.sign_for_due == datetime(2025, 10, 10, 10, 0, tzinfo=UTC)
    assert order.stage == "assigned"
    assert order.assigned_at == NOW


def test_assignment_routes_on_the_forwarded_classification_with_the_receipt_clock() -> None:
    # The front office held the appeal for an hour and reclassified it before forwarding:
    # dispatch routes on the forwarded category; its dispatch clock still runs from receipt.
    received = factories.received(category="water.outage", at=NOW - timedelta(hours=1))
    forwarded = factories.forwarded(received).model_copy(
        update={"category": "environment.noise", "district": "west", "time": NOW}
    )
    [fact] = domain.assign(
        None,
        forwarded,
        table=TABLE,
        policy=POLICY,
        calendar=CALENDAR,
        context=ctx(actor="service:dispatch"),
    )
    assert isinstance(fact, events.Assigned)
    assert (fact.department, fact.category, fact.causation_id) == (
        "environment",
        "environment.noise",
        forwarded.id,
    )
    from_receipt = sla.deadlines(
        POLICY,
        CALENDAR,
        appeal_type="complaint",
        urgency="normal",
        category="water.outage",
        start=NOW,
        received_at=received.time,
    )
    assert fact.deadlines.dispatch_due == from_receipt.dispatch_due
    assert fact.deadlines.dispatch_due is not None


def test_an_appeal_is_assigned_once() -> None:
    # A second forward of the same appeal (re-sent under a new fact id) is refused, so it is
    # parked for a person to look at rather than routed twice.
    _, order = assigned_order()
    forwarded = factories.forwarded(factories.received(at=NOW)).model_copy(
        update={"subject": order.appeal_id}
    )
    with pytest.raises(InvalidTransitionError, match="already with water"):
        domain.assign(
            order, forwarded, table=TABLE, policy=POLICY, calendar=CALENDAR, context=ctx()
        )


# --- the department's actions ---------------------------------------------------------------


def test_the_lead_signs_for_its_work_order() -> None:
    _, order = signed_order()
    assert order.stage == "signed_for"


@pytest.mark.parametrize(
    ("department", "error"), [("power", NotPermittedError), (None, NotPermittedError)]
)
def test_only_the_lead_may_sign_for(department: str | None, error: type[Exception]) -> None:
    _, order = assigned_order()
    with pytest.raises(error):
        domain.sign_for(order, department=department, person="x", context=ctx())


def test_signing_for_twice_is_refused() -> None:
    _, order = signed_order()
    with pytest.raises(InvalidTransitionError, match="not awaiting sign-for"):
        domain.sign_for(order, department="water", person="李工", context=ctx())


def test_nothing_happens_to_a_work_order_that_does_not_exist() -> None:
    with pytest.raises(NotFoundError):
        domain.sign_for(None, department="water", person="李工", context=ctx())


def test_a_return_within_the_window_awaits_arbitration() -> None:
    history, order = assigned_order()
    order = then(
        history,
        domain.request_return(
            order,
            department="water",
            reason_code="not-our-duty",
            legal_basis="三定方案",
            explanation=None,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(),
        ),
    )
    assert order.stage == "return_requested"
    with pytest.raises(InvalidTransitionError, match="already pending"):
        domain.request_return(
            order,
            department="water",
            reason_code="x",
            legal_basis="y",
            explanation=None,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(),
        )


def test_a_return_after_two_working_days_is_refused() -> None:
    _, order = assigned_order()
    # assigned Thu 9 Oct: the window ends Mon 13 Oct 18:00 Beijing (10:00 UTC); Sat 11 Oct
    # is a make-up working day in 2025, so it ends on Sat 11 Oct 18:00 instead
    late = ctx(now=datetime(2025, 10, 11, 10, 1, tzinfo=UTC))
    with pytest.raises(InvalidTransitionError, match="return window closed"):
        domain.request_return(
            order,
            department="water",
            reason_code="x",
            legal_basis="y",
            explanation=None,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=late,
        )


def test_another_department_may_not_return_the_order() -> None:
    _, order = assigned_order()
    with pytest.raises(NotPermittedError):
        domain.request_return(
            order,
            department="power",
            reason_code="x",
            legal_basis="y",
            explanation=None,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(),
        )


def _returned() -> tuple[list[events.Event], domain.WorkOrder]:
    history, order = signed_order()
    order = then(
        history,
        domain.request_return(
            order,
            department="water",
            reason_code="not-our-duty",
            legal_basis="三定方案",
            explanation="是供电故障",
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(),
        ),
    )
    return history, order


def test_an_approved_return_redispatches_with_fresh_clocks() -> None:
    history, order = _returned()
    later = ctx(now=NOW + timedelta(hours=3))
    new = domain.approve_return(
        order,
        department="power",
        assisting=(),
        reasoning="确属供电",
        routing_version=7,
        policy=POLICY,
        calendar=CALENDAR,
        replied=False,
        context=later,
    )
    assert [type(e) for e in new] == [events.ReturnApproved, events.Redispatched]
    order = then(history, new)
    assert (order.department, order.stage, order.assigned_at) == ("power", "assigned", later.now)
    first = history[0]
    assert isinstance(first, events.Assigned)
    assert order.deadlines.handle_warn_at > first.deadlines.handle_warn_at  # clocks restarted


def test_a_denied_return_goes_back_to_the_same_department_with_its_clock_running() -> None:
    history, order = _returned()
    before = order.deadlines
    order = then(history, domain.deny_return(order, reasoning="属于职责范围", context=ctx()))
    assert (order.department, order.stage, order.deadlines) == ("water", "signed_for", before)


def test_arbitration_needs_a_pending_return() -> None:
    _, order = signed_order()
    with pytest.raises(InvalidTransitionError, match="no return is pending"):
        domain.deny_return(order, reasoning="x", context=ctx())


def test_approving_a_return_to_the_same_department_is_refused() -> None:
    _, order = _returned()
    with pytest.raises(InvalidTransitionError, match="already with water"):
        domain.approve_return(
            order,
            department="water",
            assisting=(),
            reasoning="x",
            routing_version=7,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(),
        )


def _extension_requested(days: int = 5) -> tuple[list[events.Event], domain.WorkOrder]:
    history, order = signed_order()
    order = then(
        history,
        domain.request_extension(
            order,
            department="water",
            working_days=days,
            reason="需更换主管道",
            legal_basis="规定",
            policy=POLICY,
            context=ctx(),
        ),
    )
    return history, order


def test_an_approved_extension_moves_the_handling_deadline_by_working_days() -> None:
    history, order = _extension_requested(5)
    before = order.deadlines.handle_due
    [fact] = domain.approve_extension(order, policy=POLICY, calendar=CALENDAR, context=ctx())
    assert isinstance(fact, events.ExtensionApproved)
    assert fact.previous_handle_due == before
    order = then(history, [fact])
    assert order.pending_extension is None
    assert CALENDAR.workdays_between(before.date(), order.deadlines.handle_due.date()) == 5


def test_a_denied_extension_leaves_the_deadline() -> None:
    history, order = _extension_requested()
    before = order.deadlines
    order = then(history, domain.deny_extension(order, reasoning="理由不足", context=ctx()))
    assert (order.deadlines, order.pending_extension) == (before, None)


@pytest.mark.parametrize(
    ("days", "when", "match"),
    [
        (11, NOW, "at most 10"),
        (5, NOW + timedelta(days=60), "before the deadline"),
    ],
)
def test_extensions_that_are_too_long_or_too_late_are_refused(
    days: int, when: datetime, match: str
) -> None:
    _, order = signed_order()
    with pytest.raises(InvalidTransitionError, match=match):
        domain.request_extension(
            order,
            department="water",
            working_days=days,
            reason="r",
            legal_basis="b",
            policy=POLICY,
            context=ctx(now=when),
        )


def test_an_extension_needs_sign_for_and_only_one_at_a_time() -> None:
    _, assigned = assigned_order()
    with pytest.raises(InvalidTransitionError, match="signed-for"):
        domain.request_extension(
            assigned,
            department="water",
            working_days=2,
            reason="r",
            legal_basis="b",
            policy=POLICY,
            context=ctx(),
        )
    _, pending = _extension_requested()
    with pytest.raises(InvalidTransitionError, match="already pending"):
        domain.request_extension(
            pending,
            department="water",
            working_days=2,
            reason="r",
            legal_basis="b",
            policy=POLICY,
            context=ctx(),
        )


def test_assisting_departments_contribute_and_others_may_not() -> None:
    _, order = signed_order()
    [fact] = domain.contribute(order, department="urban-east", content="已协助", context=ctx())
    assert isinstance(fact, events.AssistContributed)
    with pytest.raises(NotPermittedError):
        domain.contribute(order, department="power", content="x", context=ctx())


# --- the hotline centre ---------------------------------------------------------------------


def test_an_operator_reassigns_with_the_override_recorded() -> None:
    history, order = signed_order()
    [fact] = domain.reassign(
        order,
        department="housing",
        assisting=(),
        reason="物业问题",
        routing_version=7,
        policy=POLICY,
        calendar=CALENDAR,
        replied=False,
        context=ctx(),
    )
    assert isinstance(fact, events.Redispatched)
    assert (fact.routing_rule, fact.previous_department, fact.actor) == (
        routing.OPERATOR_RULE,
        "water",
        "operator:wang",
    )
    assert then(history, [fact]).stage == "assigned"


def test_supervision_and_closing_need_an_open_order() -> None:
    history, order = signed_order()
    [fact] = domain.supervise(order, level="supervision", note="督办", context=ctx())
    assert isinstance(fact, events.Supervised)
    order = then(history, domain.close(order, note="已核实办结", context=ctx()))
    assert order.stage == "closed"
    with pytest.raises(InvalidTransitionError, match="closed"):
        domain.supervise(order, level="reminder", note="x", context=ctx())
    with pytest.raises(InvalidTransitionError, match="closed"):
        domain.close(order, note="x", context=ctx())


# --- ratings: redo or close ---------------------------------------------------------------------


def _rated(satisfaction: events.Satisfaction, *, solved: bool | None = None) -> events.Rated:
    r = factories.received()
    rated = factories.rated(factories.handled(factories.assigned(r)), satisfaction)
    # by default the dissatisfied citizen says the problem is not solved
    solved = satisfaction != "dissatisfied" if solved is None else solved
    return rated.model_copy(update={"solved": solved})


def test_a_dissatisfied_rating_orders_a_redo_to_the_same_department() -> None:
    history, order = signed_order()
    [fact] = domain.close_or_redo(
        order,
        _rated("dissatisfied"),
        policy=POLICY,
        calendar=CALENDAR,
        context=ctx(now=NOW + timedelta(days=3)),
    )
    assert isinstance(fact, events.RedoOrdered)
    assert (fact.department, fact.round) == ("water", 2)
    order = then(history, [fact])
    assert (order.stage, order.round) == ("assigned", 2)


@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
def test_a_satisfied_rating_closes_the_work_order(satisfaction: events.Satisfaction) -> None:
    history, order = signed_order()
    [fact] = domain.close_or_redo(
        order, _rated(satisfaction), policy=POLICY, calendar=CALENDAR, context=ctx()
    )
    assert isinstance(fact, events.Closed)
    assert then(history, [fact]).stage == "closed"


def test_a_rating_for_an_unknown_or_closed_order_changes_nothing() -> None:
    history, order = signed_order()
    closed = then(history, domain.close(order, note="x", context=ctx()))
    for target in (None, closed):
        assert (
            domain.close_or_redo(
                target, _rated("dissatisfied"), policy=POLICY, calendar=CALENDAR, context=ctx()
            )
            == []
        )


# --- the clocks ---------------------------------------------------------------------------


def test_marks_come_due_in_order_and_are_recorded_once() -> None:
    history, order = assigned_order()
    d = order.deadlines
    assert domain.due_signals(order, handled=False, context=ctx(now=NOW)) == []
    assert domain.next_signal_at(order, handled=False) == d.sign_for_warn_at

    warned = domain.due_signals(order, handled=False, context=ctx(now=d.sign_for_warn_at))
    warning, reminder = warned  # the reminder at the warning mark is automatic
    assert isinstance(warning, events.DeadlineWarned)
    assert warning.clock == "sign_for"
    assert isinstance(reminder, events.Supervised)
    assert (reminder.level, reminder.department) == ("reminder", "water")
    order = then(history, warned)
    assert domain.due_signals(order, handled=False, context=ctx(now=d.sign_for_warn_at)) == []

    missed = domain.due_signals(order, handled=False, context=ctx(now=d.sign_for_due))
    assert [type(e).__name__ for e in missed] == ["DeadlineMissed"]
    order = then(history, missed)
    # the assisting department's warning mark (of 3 working days) comes before the handling's
    assert domain.next_signal_at(order, handled=False) == order.assists[0].warn_at
    assert order.assists[0].warn_at is not None
    assert order.assists[0].warn_at < d.handle_warn_at
    order = then(
        history, domain.contribute(order, department="urban-east", content="已协查", context=ctx())
    )
    assert domain.next_signal_at(order, handled=False) == d.handle_warn_at


def test_sign_for_stops_its_clock_and_a_reply_stops_the_handling_clock() -> None:
    _, order = signed_order()
    late = ctx(now=order.deadlines.handle_due + timedelta(days=1))
    kinds = {
        (type(e).__name__, getattr(e, "clock", None))
        for e in domain.due_signals(order, handled=False, context=late)
    }
    assert kinds == {
        ("DeadlineWarned", "handling"),
        ("DeadlineMissed", "handling"),
        # the assisting department's clock is its own (a late sweep: no reminder, as the lead's)
        ("AssistWarned", None),
        ("AssistOverdue", None),
    }
    assert [type(e) for e in domain.due_signals(order, handled=True, context=late)] == [
        events.AssistWarned,
        events.AssistOverdue,
    ]
    # the assisting department's warning mark is the next one
    assert domain.next_signal_at(order, handled=True) == order.assists[0].warn_at


def test_a_moved_deadline_can_be_marked_again() -> None:
    history, order = _extension_requested()
    order = then(
        history,
        domain.due_signals(order, handled=False, context=ctx(now=order.deadlines.handle_warn_at)),
    )
    order = then(
        history, domain.approve_extension(order, policy=POLICY, calendar=CALENDAR, context=ctx())
    )
    again = domain.due_signals(
        order, handled=False, context=ctx(now=order.deadlines.handle_warn_at)
    )
    assert [type(e).__name__ for e in again] == ["DeadlineWarned", "Supervised"]


def test_an_unrated_round_closes_the_work_order_as_not_rated() -> None:
    history, order = signed_order()
    handled = factories.handled(factories.assigned(factories.received()))
    not_rated = events.NotRated(
        id=uuid4(),
        subject=order.appeal_id,
        time=NOW,
        actor="service:feedback",
        correlation_id=order.correlation_id,
        causation_id=handled.id,
        round=1,
        window_closed_at=NOW,
    )
    [fact] = domain.close_unrated(order, not_rated, context=ctx())
    assert isinstance(fact, events.Closed)
    assert fact.basis == "not_rated"
    stale = not_rated.model_copy(update={"round": 2})
    assert domain.close_unrated(order, stale, context=ctx()) == []
    assert domain.close_unrated(then(history, [fact]), not_rated, context=ctx()) == []


# --- a reviewed reply ---------------------------------------------------------------------


def _reviewed(order: domain.WorkOrder, decision: str, round_: int = 1) -> events.ReplyReviewed:
    return events.ReplyReviewed(
        id=uuid4(),
        subject=order.appeal_id,
        time=NOW,
        actor="operator:zhao",
        correlation_id=order.correlation_id,
        round=round_,
        department=order.department,
        decision=decision,
        reason="答复未说明处理结果" if decision == "sent_back" else None,
        callback_due=NOW + timedelta(days=1) if decision == "approved" else None,
    )


def test_a_reply_sent_back_runs_the_handling_clock_again() -> None:
    _, order = signed_order()
    sent_back = _reviewed(order, "sent_back")
    assert domain.handled_round_after_review(order, sent_back, handled_round=1) == 0
    late = ctx(now=order.deadlines.handle_due)
    assert domain.due_signals(order, handled=False, context=late) != []  # the clock runs again


def test_an_approved_reply_or_a_stale_review_leaves_the_reply_standing() -> None:
    history, order = signed_order()
    approved = _reviewed(order, "approved")
    assert domain.handled_round_after_review(order, approved, handled_round=1) == 1
    assert (
        domain.handled_round_after_review(order, _reviewed(order, "sent_back", 2), handled_round=1)
        == 1
    )
    # a review of a lead the order has left (heard after the order moved on in this round)
    other = _reviewed(order, "sent_back").model_copy(update={"department": "heating"})
    assert domain.handled_round_after_review(order, other, handled_round=1) == 1
    # that lead's reply approved: the round has its reply, and the holder's clock stops
    approved_other = _reviewed(order, "approved").model_copy(update={"department": "heating"})
    assert domain.handled_round_after_review(order, approved_other, handled_round=0) == 1
    closed = then(history, domain.close(order, note="x", context=ctx()))
    for target in (None, closed):
        assert (
            domain.handled_round_after_review(
                target, _reviewed(order, "sent_back"), handled_round=1
            )
            == 1
        )


# --- the work-order view ----------------------------------------------------------------------


def test_the_view_shows_the_running_clock_and_none_once_replied() -> None:
    _, order = assigned_order()
    half_way = order.assigned_at + (order.deadlines.sign_for_due - order.assigned_at) / 2
    row = {"state": stored.view(order, version=1, handled=False, now=NOW), "overdue": False}
    shown = views.work_order(row, half_way)
    assert shown.running_clock is not None
    assert (shown.running_clock.clock, shown.running_clock.used_share) == ("sign_for", 0.5)
    assert shown.deadlines.sign_for_due == order.deadlines.sign_for_due

    _, signed = signed_order()
    replied = {"state": stored.view(signed, version=2, handled=True, now=NOW), "overdue": False}
    assert views.work_order(replied, half_way).running_clock is None


# --- withdrawal: the front office settled a forwarded appeal ---------------------------------


def _withdrawal(order: domain.WorkOrder) -> events.WithdrawalRequested:
    return events.WithdrawalRequested(
        id=uuid4(),
        subject=order.appeal_id,
        time=NOW,
        actor="operator:li",
        correlation_id=order.correlation_id,
        outcome="transferred",
        reason="transferred to 119",
        details={"line": "119", "mode": "one_click", "external_reference": "119-7"},
    )


def test_an_unsigned_work_order_is_withdrawn_and_closes() -> None:
    history, order = assigned_order()
    request = _withdrawal(order)
    [withdrawn] = domain.withdraw(order, request, context=ctx().caused_by(request.id))
    assert isinstance(withdrawn, events.Withdrawn)
    assert (withdrawn.department, withdrawn.outcome, withdrawn.causation_id) == (
        "water",
        "transferred",
        request.id,
    )
    order = then(history, [withdrawn])
    assert not order.is_open
    with pytest.raises(InvalidTransitionError):  # nobody can sign for it any more
        domain.sign_for(order, department="water", person="李工", context=ctx())


def test_a_return_asked_for_before_signing_does_not_stop_a_withdrawal() -> None:
    history, order = assigned_order()
    order = then(
        history,
        domain.request_return(
            order,
            department="water",
            reason_code="not-ours",
            legal_basis="三定方案",
            explanation=None,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(),
        ),
    )
    [withdrawn] = domain.withdraw(order, _withdrawal(order), context=ctx())
    assert isinstance(withdrawn, events.Withdrawn)


def test_a_signed_for_work_order_is_not_withdrawn_and_says_why() -> None:
    history, order = signed_order()
    [refused] = domain.withdraw(order, _withdrawal(order), context=ctx())
    assert isinstance(refused, events.WithdrawalRefused)
    assert refused.department == "water"
    assert "water signed for it" in refused.reason
    assert then(history, [refused]).stage == "signed_for"  # the department keeps it


def test_a_closed_work_order_is_not_withdrawn() -> None:
    history, order = assigned_order()
    order = then(history, domain.withdraw(order, _withdrawal(order), context=ctx()))
    [refused] = domain.withdraw(order, _withdrawal(order), context=ctx())
    assert isinstance(refused, events.WithdrawalRefused)
    assert "already closed" in refused.reason


# --- every demo category has a route; a district's leftovers go to its government ----------


def _demo_table() -> routing.RoutingTable:
    from dispatch_service import seed

    return routing.RoutingTable(
        version=1,
        fallback_department="gov-city",
        rules=tuple(
            routing.RoutingRule(r["rule_id"], r["category"], r["district"], r["department"])
            for r in seed.RULES
        ),
    )


def test_every_demo_category_routes_to_a_department_in_every_district() -> None:
    # An appeal with no district and a district-level category (street vendors) is the city
    # office's to place: the fallback is honest there, so only the districts are checked.
    from dispatch_service import seed
    from intake_service import catalogue_seed

    table, known = _demo_table(), {d["id"] for d in seed.DEPARTMENTS}
    for service in catalogue_seed.DEMO.services:
        for district in catalogue_seed.DISTRICTS:
            rule = routing.route(table, category=service.code, district=district)
            assert rule.rule_id != routing.FALLBACK_RULE, (service.code, district)
            assert rule.category == service.code, (service.code, district)  # no catch-all
            assert rule.department in known


def test_what_no_rule_places_goes_to_the_districts_government_then_the_city() -> None:
    table = _demo_table()
    assert routing.route(table, category="zoo.animals", district="east").department == "gov-east"
    assert routing.route(table, category="zoo.animals", district="west").rule_id == "west:*"
    # a district with no government of its own, or none given: the city office, last
    assert routing.route(table, category="zoo.animals", district="north").department == "gov-city"
    assert routing.route(table, category="zoo.animals", district=None).rule_id == "fallback"
    # a category's own rule still beats the catch-all
    assert routing.route(table, category="water.outage", district="east").department == "water"
