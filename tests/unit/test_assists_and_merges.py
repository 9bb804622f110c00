"""Assisting departments' own clocks (dispatch), how they are measured (audit), and a merged
child's rating reaching its parent's handling (feedback → dispatch, audit, intake). Pure
domain, the clock passed in."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from audit_service import domain as audit
from audit_service.domain import conduct, kpis, standings
from dispatch_service import domain
from dispatch_service.domain import routing, sla
from dispatch_service.store import work_orders as stored
from feedback_service import domain as feedback
from intake_service.open311 import statuses
from shared import events
from shared.errors import NotPermittedError
from shared.workdays import WorkdayCalendar
from tests.unit import factories
from tests.unit.test_dispatch_domain import CALENDAR, NOW, POLICY, TABLE, ctx, fold, then

ZONE_OFFSET = timedelta(hours=8)  # Beijing


def _assigned(
    *, at: datetime = NOW, urgency: str = "normal", policy: sla.SlaPolicy = POLICY
) -> tuple[list[events.Event], domain.WorkOrder]:
    received = factories.received(category="water.outage", at=at)
    forwarded = factories.forwarded(received).model_copy(update={"urgency": urgency})
    history = domain.assign(
        None,
        forwarded,
        table=TABLE,
        policy=policy,
        calendar=CALENDAR,
        context=ctx(now=at, actor="service:dispatch"),
    )
    return history, fold(history)


# --- dispatch: the assisting department's own deadline ------------------------------------


def test_an_assisting_department_is_asked_by_its_own_deadline_on_the_same_calendar() -> None:
    [assigned, ask], order = _assigned()
    assert isinstance(assigned, events.Assigned)
    assert isinstance(ask, events.AssistRequested)
    # Thursday 9 October 2025: three working days on (Fri 10, Sat 11 a make-up working day,
    # Mon 13), at the policy's day end, 18:00 Beijing; the lead has 15 working days.
    assert ask.due == datetime(2025, 10, 13, 18, 0, tzinfo=UTC) - ZONE_OFFSET
    assert ask.due < assigned.deadlines.handle_due
    assert (ask.policy_version, ask.calendar, ask.provisional_years) == (
        POLICY.version,
        CALENDAR.version,
        (),
    )
    assert (ask.department, ask.lead, ask.causation_id) == ("urban-east", "water", assigned.id)
    [assist] = order.assists
    assert (assist.department, assist.due, assist.state) == ("urban-east", ask.due, "asked")


def test_the_assist_deadline_never_falls_after_the_leads() -> None:
    # An urgent appeal is handled within 24 clock hours: the assist is due by then too.
    [assigned, ask], _ = _assigned(urgency="urgent")
    assert isinstance(assigned, events.Assigned)
    assert isinstance(ask, events.AssistRequested)
    assert ask.due == assigned.deadlines.handle_due == NOW + timedelta(hours=24)


def test_an_extension_of_the_lead_moves_an_assist_its_deadline_capped() -> None:
    # urgent: the lead has 24 clock hours, and the assist, its own 3 working days capped
    history, order = _assigned(urgency="urgent")
    history += domain.sign_for(order, department="water", person="李工", context=ctx())
    asked = fold(history).assists[0]
    assert asked.due == fold(history).deadlines.handle_due  # capped at the lead's
    history += domain.request_extension(
        fold(history), department="water", working_days=5, reason="需更换主管道",
        legal_basis="规定", policy=POLICY, context=ctx(),
    )  # fmt: skip
    approved, moved = domain.approve_extension(
        fold(history), policy=POLICY, calendar=CALENDAR, context=ctx()
    )
    assert isinstance(approved, events.ExtensionApproved)
    assert isinstance(moved, events.AssistDeadlineRecomputed)
    own, _ = sla.assist_due(
        POLICY, CALENDAR, start=asked.asked_at, handle_due=approved.deadlines.handle_due
    )
    assert (moved.department, moved.previous_due, moved.due) == ("urban-east", asked.due, own)
    assert asked.due < moved.due <= approved.deadlines.handle_due
    assert fold([*history, approved, moved]).assists[0].due == moved.due


def test_an_assist_counted_into_an_unpublished_year_is_provisional() -> None:
    # Wednesday 30 December 2026: three working days run into 2027, which nobody published.
    [_, ask], _ = _assigned(at=datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    assert isinstance(ask, events.AssistRequested)
    assert ask.provisional_years == (2027,)


def test_the_policy_sets_the_assist_window() -> None:
    one_day = sla.from_document(
        9, {**sla.to_document(POLICY), "assist_window": [1, "working_days"]}
    )
    [_, ask], _ = _assigned(policy=one_day)
    assert isinstance(ask, events.AssistRequested)
    assert (ask.due, ask.policy_version) == (
        datetime(2025, 10, 10, 18, 0, tzinfo=UTC) - ZONE_OFFSET,
        9,
    )
    # a policy stored before the window existed reads as three working days
    older = {k: v for k, v in sla.to_document(POLICY).items() if k != "assist_window"}
    assert sla.from_document(2, older).assist_window == sla.Limit(3, "working_days")


def test_a_contribution_by_the_deadline_settles_the_assist_and_stops_its_clock() -> None:
    history, order = _assigned()
    due = order.assists[0].due
    order = then(
        history,
        domain.contribute(order, department="urban-east", content="已协查", context=ctx()),
    )
    assert order.assists[0].state == "contributed"
    assert not [
        e
        for e in domain.due_signals(order, handled=True, context=ctx(now=due + timedelta(days=1)))
        if isinstance(e, events.AssistOverdue)
    ]


def test_an_assist_past_its_deadline_is_marked_overdue_once() -> None:
    history, order = _replied_parent()  # signed for and replied: only the assist's clock runs
    due = order.assists[0].due
    just_before = ctx(now=due - timedelta(seconds=1))
    order = then(history, domain.due_signals(order, handled=True, context=just_before))  # warned
    assert domain.due_signals(order, handled=True, context=just_before) == []
    [overdue] = domain.due_signals(order, handled=True, context=ctx(now=due))
    assert isinstance(overdue, events.AssistOverdue)
    assert (overdue.department, overdue.due) == ("urban-east", due)
    order = then(history, [overdue])
    assert order.assists[0].state == "overdue"
    assert domain.due_signals(order, handled=True, context=ctx(now=due + timedelta(days=2))) == []
    # a late contribution is still recorded, and the assist shows as contributed
    late = ctx(now=due + timedelta(days=2))
    order = then(
        history, domain.contribute(order, department="urban-east", content="迟", context=late)
    )
    assert (order.assists[0].state, order.assists[0].contributed_at) == ("contributed", late.now)


def test_only_an_assisting_department_contributes() -> None:
    _, order = _assigned()
    with pytest.raises(NotPermittedError, match="not an assisting department"):
        domain.contribute(order, department="parks", content="x", context=ctx())


def test_a_new_lead_asks_its_own_assisting_departments() -> None:
    history, order = _assigned()
    order = then(
        history,
        domain.reassign(
            order,
            department="housing",
            assisting=("parks", "parks", "housing"),  # repeats and the lead itself: asked once
            reason="职责调整",
            routing_version=TABLE.version,
            policy=POLICY,
            calendar=CALENDAR,
            replied=False,
            context=ctx(now=NOW + timedelta(hours=1)),
        ),
    )
    assert [(a.department, a.asked_at) for a in order.assists] == [
        ("parks", NOW + timedelta(hours=1))
    ]
    assert isinstance(history[-1], events.AssistRequested)
    assert history[-1].lead == "housing"


def test_a_closed_order_marks_no_assist_overdue() -> None:
    history, order = _assigned()
    due = order.assists[0].due
    order = then(history, domain.close(order, note="办结", context=ctx()))
    assert domain.due_signals(order, handled=True, context=ctx(now=due + timedelta(days=1))) == []
    assert domain.next_signal_at(order, handled=True) is None


def test_the_work_order_view_shows_each_assist() -> None:
    _, order = _assigned()
    shown = stored.view(order, version=2, handled=False, now=NOW)
    [assist] = shown["assists"]
    assert assist == {
        "department": "urban-east",
        "asked_at": NOW.isoformat(),
        "due": order.assists[0].due.isoformat(),
        "state": "asked",
        "contributed_at": None,
        "provisional_years": [],
        "warn_at": sla.warn_at(POLICY, NOW, deadline=order.assists[0].due).isoformat(),
    }


# --- dispatch: a merged child's rating reaches the parent ---------------------------------


def _child_rating(order: domain.WorkOrder, **changes: Any) -> events.Rated:
    fields: dict[str, Any] = {
        "satisfaction": "dissatisfied",
        "solved": False,
        "round": order.round,
        "comment": "我家还是停水",
        "merged_into": order.appeal_id,
        "handled_by": order.department,
        **changes,
    }
    return events.Rated(
        id=uuid4(),
        subject=uuid4(),  # the child's own appeal
        time=NOW,
        actor="citizen",
        correlation_id=uuid4(),
        **fields,
    )


def _replied_parent() -> tuple[list[events.Event], domain.WorkOrder]:
    history, order = _assigned()
    order = then(history, domain.sign_for(order, department="water", person="李工", context=ctx()))
    return history, order


def _redo(order: domain.WorkOrder, rated: events.Rated, **policy: Any) -> list[events.Event]:
    chosen = sla.SlaPolicy(**{**vars(POLICY), **policy}) if policy else POLICY
    return domain.redo_for_merged_child(
        order, rated, policy=chosen, calendar=CALENDAR, context=ctx(actor="service:dispatch")
    )


def test_an_unsolved_childs_rating_orders_the_parents_redo() -> None:
    _, order = _replied_parent()
    rated = _child_rating(order)
    [redo] = _redo(order, rated)
    assert isinstance(redo, events.RedoOrdered)
    assert (redo.subject, redo.department, redo.round) == (order.appeal_id, "water", 2)
    assert redo.reason == "a merged appeal's caller: 我家还是停水"


def test_a_child_blaming_the_department_orders_the_redo_even_if_solved() -> None:
    _, order = _replied_parent()
    [redo] = _redo(order, _child_rating(order, solved=True, department_at_fault=True, comment=None))
    assert isinstance(redo, events.RedoOrdered)
    assert "the department was at fault" in redo.reason


@pytest.mark.parametrize(
    "changes",
    [
        {"satisfaction": "satisfied", "solved": True},  # a satisfied child never closes it
        {"satisfaction": "basically_satisfied"},
        {"solved": True, "department_at_fault": False},  # dissatisfied, but no fault: no redo
        {"round": 2},  # a round the parent is not in
    ],
)
def test_a_child_rating_that_warrants_no_redo_changes_nothing(changes: dict[str, Any]) -> None:
    _, order = _replied_parent()
    assert _redo(order, _child_rating(order, **changes)) == []


def test_past_the_redo_rounds_a_childs_dissatisfaction_escalates_the_parent() -> None:
    _, order = _replied_parent()
    [escalated] = _redo(order, _child_rating(order), max_redo_rounds=0)
    assert isinstance(escalated, events.EscalatedToCentre)
    assert escalated.subject == order.appeal_id


def test_once_a_child_ordered_the_redo_the_parents_own_rating_of_that_round_decides_nothing() -> (
    None
):
    history, order = _replied_parent()
    order = then(history, _redo(order, _child_rating(order)))
    assert order.round == 2
    parents_own = _child_rating(order, round=1, satisfaction="satisfied", merged_into=None)
    assert (
        domain.close_or_redo(order, parents_own, policy=POLICY, calendar=CALENDAR, context=ctx())
        == []
    )


def test_a_closed_parent_is_not_reopened_by_a_child() -> None:
    history, order = _replied_parent()
    order = then(history, domain.close(order, note="办结", context=ctx()))
    assert _redo(order, _child_rating(order)) == []


# --- feedback: a child's rating says whose handling it rates -------------------------------


def test_a_merged_childs_rating_names_the_parent_and_the_department() -> None:
    parent, child = uuid4(), uuid4()
    rated = _child_rating(fold(_assigned()[0]), merged_into=None, handled_by=None)
    [stamped] = feedback.childs_own([rated], child=child, parent=parent, handled_by="water")
    assert isinstance(stamped, events.Rated)
    assert (stamped.merged_into, stamped.handled_by) == (parent, "water")
    assert stamped.id == rated.id


# --- audit: assists measured apart; a child's rating counts for the department -------------


def _at(base: events.Event, cls: type[events.Event], hours: float, **data: Any) -> events.Event:
    return cls(
        id=uuid4(),
        subject=base.subject,
        time=factories.T0 + timedelta(hours=hours),
        actor="x",
        correlation_id=base.correlation_id,
        **data,
    )


def _asked(base: events.Event, department: str, due_hours: float) -> events.Event:
    return _at(
        base,
        events.AssistRequested,
        0,
        department=department,
        lead="water",
        due=factories.T0 + timedelta(hours=due_hours),
        policy_version=1,
        calendar="chinese-calendar-1.11.0",
    )


def _contributed(base: events.Event, department: str, hours: float) -> events.Event:
    return _at(base, events.AssistContributed, hours, department=department, content="意见")


def _table(*histories: list[events.Event], now: datetime) -> kpis.Table:
    table: kpis.Table = {}
    for history in histories:
        kpis.accumulate(
            table, audit.timeline(factories.audit_facts(history)), rule=kpis.Rule(), now=now
        )
    return table


def test_assisting_departments_are_measured_apart_from_the_lead() -> None:
    first = factories.assigned(factories.received())
    second = factories.assigned(factories.received())
    third = factories.assigned(factories.received())
    table = _table(
        [
            first,
            _asked(first, "urban-east", 72),
            _asked(first, "parks", 72),
            _contributed(first, "urban-east", 24),  # on time
            _contributed(first, "parks", 96),  # late
        ],
        [second, _asked(second, "urban-east", 72)],  # nothing by the deadline: missing
        [
            third,
            _asked(third, "urban-east", 72),
            # closed before the assist fell due: it was never due, and counts neither way
            _at(third, events.Closed, 10, basis="operator"),
        ],
        now=factories.T0 + timedelta(days=5),
    )
    east = table[("urban-east", "2026-10")]
    assert east.summary()["assist_volume"] == 3
    assert east.summary()["assist_on_time_rate"] == 0.5
    assert east.summary()["volume"] == 0  # assisting is no holding of its own
    assert table[("parks", "2026-10")].summary()["assist_on_time_rate"] == 0.0
    lead = table[("water", "2026-10")].summary()
    assert (lead["volume"], lead["assist_volume"], lead["assist_on_time_rate"]) == (3, 0, None)


def test_an_assist_still_before_its_deadline_is_not_judged() -> None:
    first = factories.assigned(factories.received())
    table = _table([first, _asked(first, "parks", 72)], now=factories.T0 + timedelta(hours=1))
    parks = table[("parks", "2026-10")]
    assert (len(parks.assists_asked), parks.summary()["assist_on_time_rate"]) == (1, None)


def test_on_time_assists_break_a_tie_in_the_ranking() -> None:
    rows = [
        {
            "department": d,
            "on_time_completion_rate": 1.0,
            "satisfaction_rate": 1.0,
            "timely_sign_for_rate": 1.0,
            "assist_on_time_rate": rate,
            "volume": 5,
        }
        for d, rate in (("a-slow", 0.5), ("b-prompt", 1.0), ("c-never-asked", None))
    ]
    assert [r["department"] for r in sorted(rows, key=standings.order_key)] == [
        "b-prompt",
        "a-slow",
        "c-never-asked",
    ]


def test_a_merged_childs_rating_counts_for_the_department_that_handled_the_parent() -> None:
    received = factories.received()
    child = factories.received()
    merged = events.MergedInto(
        id=uuid4(),
        subject=child.subject,
        time=factories.T0,
        actor="operator:wang",
        correlation_id=child.correlation_id,
        parent=received.subject,
        reason="重复",
    )

    def rating(satisfaction: str, hours: float) -> events.Event:
        return _at(
            child,
            events.Rated,
            hours,
            satisfaction=satisfaction,
            solved=satisfaction != "dissatisfied",
            merged_into=received.subject,
            handled_by="water",
        )

    unhappy = rating("dissatisfied", 30)
    table = _table([child, merged, unhappy], now=factories.T0 + timedelta(days=2))
    water = table[("water", "2026-10")]
    assert (water.rated, water.rated_by_merged, water.satisfied) == (
        [str(unhappy.id)],
        [str(unhappy.id)],
        [],
    )
    assert water.summary()["satisfaction_rate"] == 0.0
    # a category the rule leaves out is left out for the child too
    excluded = kpis.Rule(excluded_categories=frozenset({"water.outage"}))
    kept: kpis.Table = {}
    kpis.accumulate(
        kept,
        audit.timeline(factories.audit_facts([child, merged, rating("satisfied", 31)])),
        rule=excluded,
        now=factories.T0,
    )
    assert kept == {}


# --- intake: the child's Open311 status closes with the parent ------------------------------


def test_a_merged_child_closes_with_its_parent_in_the_open311_feed() -> None:
    parent, child = uuid4(), uuid4()
    closed = events.Closed(
        id=uuid4(),
        subject=parent,
        time=NOW,
        actor="service:dispatch",
        correlation_id=uuid4(),
        basis="rated_satisfied",
    )
    update = statuses.closed_with_parent(closed, child)
    assert (update.appeal_id, update.status, update.at, update.fact_type) == (
        child,
        "closed",
        NOW,
        "appeal.closed",
    )
    assert str(parent) in update.description
    # the same fact redelivered makes the same update (its id), so it is recorded once
    assert statuses.closed_with_parent(closed, child).update_id == update.update_id
    assert statuses.closed_with_parent(closed, uuid4()).update_id != update.update_id


def test_routing_keeps_assisting_departments_for_the_ask() -> None:
    rule = routing.route(TABLE, category="water.outage", district=None)
    assert rule.assisting == ("urban-east",)
    assert WorkdayCalendar().version == CALENDAR.version


def test_a_child_merged_after_forwarding_rates_the_parents_department_not_its_own_order() -> None:
    parent = factories.received()
    child = factories.received()
    withdrawn_order = factories.assigned(child, department="power")
    rated = _at(
        child,
        events.Rated,
        40,
        satisfaction="satisfied",
        solved=True,
        attitude="poor",
        merged_into=parent.subject,
        handled_by="water",
    )
    history = [
        child,
        withdrawn_order,
        _at(child, events.Withdrawn, 1, department="power", outcome="merged", reason="并单"),
        rated,
    ]
    table = _table(history, now=factories.T0 + timedelta(days=2))
    assert table[("water", "2026-10")].rated_by_merged == [str(rated.id)]
    assert table[("water", "2026-10")].satisfied == [str(rated.id)]
    assert table[("power", "2026-10")].rated == []  # its withdrawn order was never rated
    attitude: conduct.Table = {}
    conduct.accumulate(attitude, audit.timeline(factories.audit_facts(history)))
    assert attitude[("water", "2026-10")].attitude_poor == [str(rated.id)]
    assert ("power", "2026-10") not in attitude


def test_a_merged_childs_rating_is_left_out_by_the_category_it_was_reclassified_to() -> None:
    parent, child = factories.received(), factories.received(category="water.outage")
    reclassified = _at(
        child, events.AppealClassified, 1, category="mediation.neighbours",
        appeal_type="complaint", urgency="normal", previous_category="water.outage",
        reason="邻里纠纷",
    )  # fmt: skip
    rated = _at(
        child, events.Rated, 40, satisfaction="dissatisfied", solved=False,
        merged_into=parent.subject, handled_by="water",
    )  # fmt: skip
    excluding = kpis.Rule(excluded_categories=frozenset({"mediation.neighbours"}))
    table: kpis.Table = {}
    timeline = audit.timeline(factories.audit_facts([child, reclassified, rated]))
    kpis.accumulate(table, timeline, rule=excluding, now=factories.T0 + timedelta(days=2))
    assert ("water", "2026-10") not in table
    kept: kpis.Table = {}
    kpis.accumulate(kept, timeline, rule=kpis.Rule(), now=factories.T0 + timedelta(days=2))
    assert kept[("water", "2026-10")].rated_by_merged == [str(rated.id)]


def test_an_assist_is_warned_and_reminded_at_its_warning_mark_once() -> None:
    history, order = _replied_parent()  # signed for and replied: only the assist's clock runs
    [assist] = order.assists
    assert assist.warn_at == sla.warn_at(POLICY, assist.asked_at, deadline=assist.due)
    assert assist.warn_at is not None
    assert domain.next_signal_at(order, handled=True) == assist.warn_at
    before = ctx(now=assist.warn_at - timedelta(seconds=1))
    assert domain.due_signals(order, handled=True, context=before) == []
    warning, reminder = domain.due_signals(order, handled=True, context=ctx(now=assist.warn_at))
    assert isinstance(warning, events.AssistWarned)
    assert (warning.department, warning.due) == ("urban-east", assist.due)
    assert isinstance(reminder, events.Supervised)
    assert (reminder.department, reminder.level) == ("urban-east", "reminder")
    assert assist.due.isoformat() in reminder.note
    order = then(history, [warning, reminder])
    assert order.assists[0].state == "asked"  # warned, still asked
    assert domain.due_signals(order, handled=True, context=ctx(now=assist.warn_at)) == []
    assert domain.next_signal_at(order, handled=True) == assist.due  # the overdue mark next


def test_a_contributed_assist_is_never_warned() -> None:
    history, order = _replied_parent()
    [assist] = order.assists
    assert assist.warn_at is not None
    order = then(
        history, domain.contribute(order, department="urban-east", content="已协查", context=ctx())
    )
    assert domain.due_signals(order, handled=True, context=ctx(now=assist.warn_at)) == []
    assert domain.next_signal_at(order, handled=True) is None
