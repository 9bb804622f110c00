"""When the department is the problem: attitude on callbacks and ratings, conduct complaints
routed to the supervising body and never to the department complained about, and audit's
count of both per department. Domain only, clocks passed in."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from audit_service import domain as audit
from audit_service.domain import conduct
from dispatch_service import domain as dispatch
from dispatch_service.domain import routing, sla
from feedback_service import domain as feedback
from intake_service import domain as intake
from shared import events
from shared.conduct import is_conduct
from shared.decisions import Context
from shared.errors import InvalidTransitionError
from shared.workdays import SEED, WorkdayCalendar
from tests.unit import factories

T0 = factories.T0
TABLE = routing.RoutingTable(
    version=3,
    fallback_department="gov-city",
    rules=(
        routing.RoutingRule("city:conduct.staff", "conduct.staff", None, "supervision"),
        routing.RoutingRule("city:water", "water.outage", None, "water", ("supervision",)),
    ),
)


def ctx(actor: str = "service:dispatch", hours: float = 0) -> Context:
    return Context(actor=actor, now=T0 + timedelta(hours=hours), new_id=uuid4)


def _filed(category: str, about: str | None) -> list[events.Event]:
    new = intake.NewAppeal(
        channel="phone",
        appeal_type="complaint",
        category=category,
        content="窗口工作人员训斥我不该打12345",
        citizen=events.Citizen(name="张三", phone="13800138000"),
        location=events.Location(address="幸福路1号", district="east"),
        about_department=about,
    )
    return intake.receive(
        new,
        category=category,
        urgency="normal",
        hold=False,
        appeal_id=uuid4(),
        personal_data=None,
        content=factories.sealed_text(new.content),
        context=ctx("operator:li"),
    )


def _assigned(category: str = "conduct.staff", about: str | None = "water") -> list[events.Event]:
    received, forwarded = _filed(category, about)
    assert isinstance(forwarded, events.AppealForwarded)
    return [
        received,
        forwarded,
        *dispatch.assign(
            None,
            forwarded,
            table=TABLE,
            policy=sla.DEMO_POLICY,
            calendar=WorkdayCalendar(),
            context=ctx(),
        ),
    ]


# --- routing ------------------------------------------------------------------------------


def test_a_conduct_complaint_goes_to_the_supervision_office_naming_the_department() -> None:
    received, forwarded, assigned = _assigned()
    assert isinstance(received, events.AppealReceived)
    assert isinstance(forwarded, events.AppealForwarded)
    assert (received.about_department, forwarded.about_department) == ("water", "water")
    assert isinstance(assigned, events.Assigned)
    assert (assigned.department, assigned.assisting, assigned.about_department) == (
        "supervision",
        (),
        "water",
    )


def test_a_complaint_about_the_supervisor_itself_goes_past_it_to_the_government() -> None:
    *_, assigned = _assigned(about="supervision")
    assert isinstance(assigned, events.Assigned)
    assert (assigned.department, assigned.routing_rule) == ("gov-city", routing.FALLBACK_RULE)


def test_the_department_complained_about_is_never_lead_nor_assisting() -> None:
    rule = routing.route(TABLE, category="water.outage", district=None, avoid="supervision")
    assert (rule.department, rule.assisting) == ("water", ())
    rule = routing.route(TABLE, category="water.outage", district=None, avoid="water")
    assert rule.department == "gov-city"


def test_only_a_conduct_complaint_names_a_department_to_dispatch() -> None:
    # A water outage "about" water is just a water outage: water handles it.
    _received, forwarded, assigned, *_asks = _assigned(category="water.outage", about="water")
    assert forwarded.about_department is None  # type: ignore[attr-defined]
    assert assigned.department == "water"  # type: ignore[attr-defined]
    assert is_conduct("conduct.department")
    assert not is_conduct("water.outage")


@pytest.mark.parametrize(("lead", "assisting"), [("water", ()), ("housing", ("water",))])
def test_no_reassignment_gives_the_complaint_to_the_department_complained_about(
    lead: str, assisting: tuple[str, ...]
) -> None:
    history = _assigned()
    order = None
    for event in history[2:]:
        order = dispatch.evolve(order, event)
    with pytest.raises(InvalidTransitionError, match="conduct complaint about water"):
        dispatch.reassign(
            order,
            department=lead,
            assisting=assisting,
            reason="转给被投诉单位自查",
            routing_version=3,
            policy=sla.DEMO_POLICY,
            calendar=WorkdayCalendar(),
            replied=False,
            context=ctx("operator:wang", hours=1),
        )


# --- attitude -----------------------------------------------------------------------------


def _approved_feedback() -> tuple[feedback.Feedback, list[events.Event]]:
    assigned = factories.assigned(factories.received())
    holder = feedback.Holder("water", assigned.id, assigned.correlation_id, 1, True)
    history = feedback.handle(
        feedback.Feedback(),
        feedback.Reply(result="solved", reply="已修复"),
        appeal_id=assigned.subject,
        holder=holder,
        department="water",
        context=ctx("department:water", hours=1),
    )
    state = feedback.Feedback()
    for event in history:
        state = feedback.evolve(state, event)
    history += feedback.review(
        state,
        feedback.ReviewDecision("approved"),
        appeal_id=assigned.subject,
        holder=None,
        callback_due=T0 + timedelta(days=1),
        calendar=SEED.version,
        rating_window=timedelta(hours=72),
        context=ctx("operator:zhao", hours=2),
    )
    state = feedback.Feedback()
    for event in history:
        state = feedback.evolve(state, event)
    return state, [assigned, *history]


def test_a_callback_records_attitude_apart_from_solved_and_satisfied() -> None:
    state, history = _approved_feedback()
    call = feedback.Callback(reached=True, satisfaction="satisfied", solved=True, attitude="poor")
    made, rated = feedback.call_back(
        state,
        call,
        appeal_id=history[0].subject,
        max_attempts=3,
        retry_after=timedelta(hours=4),
        context=ctx("operator:zhao", hours=3),
    )
    assert isinstance(made, events.CallbackMade)
    assert isinstance(rated, events.Rated)
    assert (made.attitude, rated.attitude) == ("poor", "poor")
    assert (rated.satisfaction, rated.solved) == ("satisfied", True)


def test_a_rating_without_attitude_says_none_and_old_ratings_read_as_none() -> None:
    state, history = _approved_feedback()
    [rated] = feedback.rate(
        state,
        feedback.Rating(satisfaction="dissatisfied", solved=False),
        appeal_id=history[0].subject,
        context=ctx("operator:wang", hours=3),
    )
    assert isinstance(rated, events.Rated)
    assert rated.attitude is None
    old = rated.model_dump(mode="json", exclude={"attitude"})
    assert events.Rated.model_validate(old).attitude is None


# --- audit --------------------------------------------------------------------------------


def _rated(base: events.Event, hours: float, attitude: str | None, **more: Any) -> events.Rated:
    return events.Rated(
        id=uuid4(),
        subject=base.subject,
        time=T0 + timedelta(hours=hours),
        actor="operator:zhao",
        correlation_id=base.correlation_id,
        satisfaction="satisfied",
        solved=True,
        attitude=attitude,
        **more,
    )


def _timeline(history: list[events.Event]) -> list[audit.Fact]:
    return audit.timeline(factories.audit_facts(history))


def test_audit_counts_poor_attitude_for_the_department_that_held_the_appeal() -> None:
    table: conduct.Table = {}
    for attitude in ("poor", "good", None):
        received = factories.received()
        assigned = factories.assigned(received, department="water")
        conduct.accumulate(table, _timeline([received, assigned, _rated(assigned, 30, attitude)]))
    water = table[("water", "2026-10")]
    assert water.summary() == {
        "attitude_rated": 2,  # the rating without an attitude is not counted either way
        "poor_attitude": 1,
        "poor_attitude_share": 0.5,
        "conduct_complaints": 0,
    }
    assert len(water.appeals) == 1
    assert water.of_concern


def test_audit_counts_a_conduct_complaint_against_the_department_it_names() -> None:
    table: conduct.Table = {}
    history = _assigned()
    conduct.accumulate(table, _timeline(history))
    [(department, row)] = conduct.of_concern(table, "2026-10")
    assert department == "water"
    assert row.complaints == [str(history[0].id)]
    assert row.appeals == [str(history[0].subject)]
    # The supervision office holds it, and is not itself of concern for doing so.
    assert ("supervision", "2026-10") not in table
    # An ordinary appeal, or another month, lists nobody.
    conduct.accumulate(table, _timeline(_assigned(category="water.outage")))
    assert [d for d, _ in conduct.of_concern(table, "2026-10")] == ["water"]
    assert conduct.of_concern(table, "2026-11") == []
