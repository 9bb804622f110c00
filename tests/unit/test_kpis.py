"""A scripted month with known answers for every measure."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from audit_service import domain
from audit_service.domain import gaming, kpis, standings
from shared import events
from tests.unit import factories

T0 = factories.T0  # 9 October 2026; sign for within a day, handle within 15 days
NOW = T0 + timedelta(days=40)


def _at(base: events.Event, cls: type[events.Event], hours: float, **data: Any) -> events.Event:
    return cls(
        id=uuid4(),
        subject=base.subject,
        time=T0 + timedelta(hours=hours),
        actor="x",
        correlation_id=base.correlation_id,
        **data,
    )


def _appeal(department: str = "water", category: str = "water.outage") -> events.Assigned:
    received = factories.received(category=category)
    return factories.assigned(received, department=department)


def _rated(base: events.Event, hours: float, satisfaction: str) -> events.Event:
    return _at(base, events.Rated, hours, satisfaction=satisfaction, solved=True)


def _handled(base: events.Event, hours: float, department: str = "water") -> events.Event:
    return _at(base, events.Handled, hours, department=department, result="solved", reply="好")


def _reviewed(
    base: events.Event, hours: float, department: str = "water", decision: str = "approved"
) -> events.Event:
    approved = decision == "approved"
    return _at(
        base,
        events.ReplyReviewed,
        hours,
        round=1,
        department=department,
        decision=decision,
        reason=None if approved else "模板答复，未说明处理结果",
        callback_due=T0 + timedelta(hours=hours + 24) if approved else None,
    )


def _callback(
    base: events.Event, hours: float, attempt: int, satisfaction: str | None
) -> events.Event:
    return _at(
        base,
        events.CallbackMade,
        hours,
        round=1,
        attempt=attempt,
        reached=satisfaction is not None,
        satisfaction=satisfaction,
        counted=attempt == 1,
    )


def _rushed() -> list[events.Event]:
    """parks asks for more time and replies in the last tenth of its 15 days (the last 36
    hours), the citizen is called back until "satisfied", and the order still comes back."""
    rushed = _appeal("parks", "parks.trees")
    unhappy = _rated(rushed, 24 * 15, "dissatisfied")
    return [
        rushed,
        _at(rushed, events.SignedFor, 1, department="parks", person="赵"),
        _at(
            rushed,
            events.ExtensionRequested,
            24 * 14,
            department="parks",
            working_days=5,
            reason="树木需专业修剪",
            legal_basis="办理规定",
        ),
        _at(rushed, events.ExtensionDenied, 24 * 14 + 1, department="parks", reasoning="不符合"),
        _handled(rushed, 24 * 14.5, department="parks"),
        _reviewed(rushed, 24 * 14.6, department="parks"),
        _callback(rushed, 24 * 14.75, 1, "dissatisfied"),
        _callback(rushed, 24 * 14.8, 2, None),
        _callback(rushed, 24 * 14.9, 3, "satisfied"),
        unhappy,
        _at(
            rushed,
            events.RedoOrdered,
            24 * 15,
            department="parks",
            round=2,
            reason="不满意",
            deadlines=factories.DEADLINES,
            causation_id=unhappy.id,
        ),
    ]


def _template() -> list[events.Event]:
    """housing sends a template reply on the first day, which the centre sends back; the
    real reply comes after the 15-day deadline and is approved: late, not on time."""
    template = _appeal("housing", "housing.repair")
    return [
        template,
        _at(template, events.SignedFor, 1, department="housing", person="钱"),
        _handled(template, 2, department="housing"),
        _reviewed(template, 3, department="housing", decision="sent_back"),
        _handled(template, 24 * 16, department="housing"),
        _reviewed(template, 24 * 16 + 1, department="housing"),
        _rated(template, 24 * 17, "satisfied"),
    ]


def _month() -> list[list[events.Event]]:
    smooth = _appeal()
    late = _appeal()
    bounced = _appeal("power")
    unhappy = _rated(late, 24 * 21, "dissatisfied")
    return [
        [
            smooth,
            _at(smooth, events.SignedFor, 2, department="water", person="李"),
            _at(  # early in the window: planned work, not gaming
                smooth,
                events.ExtensionRequested,
                3,
                department="water",
                working_days=2,
                reason="需协调",
                legal_basis="办理规定",
            ),
            _handled(smooth, 48),
            _reviewed(smooth, 49),
            _callback(smooth, 50, 1, None),  # unreached, then satisfied: one honest round
            _callback(smooth, 52, 2, "satisfied"),
            _rated(smooth, 60, "satisfied"),
        ],
        [
            late,
            _at(late, events.SignedFor, 30, department="water", person="李"),
            _at(
                late,
                events.ReturnRequested,
                31,
                department="water",
                reason_code="x",
                legal_basis="y",
            ),
            _at(late, events.ReturnDenied, 32, department="water", reasoning="属职责"),
            _handled(late, 24 * 20),
            _reviewed(late, 24 * 20.5),
            unhappy,
            _at(  # dispatch's reaction names its cause, as the real one does
                late,
                events.RedoOrdered,
                24 * 21,
                department="water",
                round=2,
                reason="不满意",
                deadlines=factories.DEADLINES,
                causation_id=unhappy.id,
            ),
        ],
        [
            bounced,
            _at(
                bounced,
                events.ReturnRequested,
                1,
                department="power",
                reason_code="x",
                legal_basis="y",
            ),
            _at(bounced, events.ReturnApproved, 2, department="power", reasoning="ok"),
            _at(
                bounced,
                events.Redispatched,
                2,
                department="water",
                previous_department="power",
                routing_rule="operator",
                routing_version=1,
                reason="改派",
                deadlines=factories.DEADLINES,
            ),
        ],
        _rushed(),
        _template(),
    ]


def _table(rule: kpis.Rule | None = None) -> kpis.Table:
    table: kpis.Table = {}
    for history in _month():
        kpis.accumulate(
            table,
            domain.timeline(factories.audit_facts(history)),
            rule=rule or kpis.Rule(),
            now=NOW,
        )
    return table


def test_every_measure_of_a_scripted_month() -> None:
    table = _table()
    water = table[("water", "2026-10")].summary()
    assert water == {
        "volume": 3,  # two assignments and one redispatch; the redo is counted apart
        "timely_sign_for_rate": round(1 / 4, 4),  # on time once; late once; never twice
        "on_time_completion_rate": round(1 / 4, 4),  # smooth on time; late; 2 overdue
        "return_rate": round(1 / 3, 4),
        "returns_overruled": 1,
        "redo_rate": round(1 / 2, 4),  # one redo for two completed
        "satisfaction_rate": round(1 / 2, 4),
        "mean_handling_workdays": 8.0,  # 1 and 15 working days
        "assist_volume": 0,  # never asked to assist (tests/unit/test_assists_and_merges.py)
        "assist_on_time_rate": None,
    }
    parks = table[("parks", "2026-10")].summary()
    assert parks == {
        "volume": 1,
        "timely_sign_for_rate": 0.5,  # signed at once; the redo holding never signed
        "on_time_completion_rate": 0.5,  # replied in time (just); the redo is overdue
        "return_rate": 0.0,
        "returns_overruled": 0,
        "redo_rate": 1.0,
        "satisfaction_rate": 0.0,  # the counted callback said "dissatisfied"
        "mean_handling_workdays": 11.0,  # 9 to 24 October, the 10th a make-up working day
        "assist_volume": 0,
        "assist_on_time_rate": None,
    }
    power = table[("power", "2026-10")].summary()
    assert (power["volume"], power["return_rate"], power["returns_overruled"]) == (1, 1.0, 0)
    housing = table[("housing", "2026-10")]
    assert housing.summary()["on_time_completion_rate"] == 0.0  # the approved reply was late
    assert housing.summary()["mean_handling_workdays"] == 11.0  # 9 to 25 October


def test_a_template_reply_sent_back_before_the_deadline_does_not_count_as_on_time() -> None:
    history = _template()
    table: kpis.Table = {}
    kpis.accumulate(
        table, domain.timeline(factories.audit_facts(history)), rule=kpis.Rule(), now=NOW
    )
    figures = table[("housing", "2026-10")]
    assert figures.completed_on_time == []
    assert figures.completed_late_or_overdue == [str(history[4].id)]  # the approved reply
    assert figures.completed == [str(history[4].id)]
    # while the real reply awaits review, the holding is overdue: nothing was approved yet
    pending: kpis.Table = {}
    kpis.accumulate(
        pending, domain.timeline(factories.audit_facts(history[:4])), rule=kpis.Rule(), now=NOW
    )
    assert pending[("housing", "2026-10")].completed_late_or_overdue == [str(history[0].id)]


def test_each_figure_keeps_the_facts_behind_it() -> None:
    figures = _table()[("water", "2026-10")]
    assert len(figures.evidence()["returns_overruled"]) == 1
    assert len(figures.evidence()["volume"]) == 3


def test_a_different_rule_recomputes_from_the_same_facts() -> None:
    strict = _table(
        kpis.Rule(
            name="strict",
            basically_satisfied_counts=False,
            excluded_categories=frozenset({"water.outage"}),
        )
    )
    # Only parks' and housing's appeals are left; parks' one rating was "dissatisfied"
    # either way.
    assert sorted(strict) == [("housing", "2026-10"), ("parks", "2026-10")]
    assert strict[("parks", "2026-10")].summary()["satisfaction_rate"] == 0.0


def test_the_ranking_names_red_and_black_lists() -> None:
    ranked = standings.ranking(_table(), "2026-10", rule=kpis.Rule(list_min_volume=1, listed=1))
    assert [r["department"] for r in ranked["rows"]] == ["parks", "water", "housing", "power"]
    # power gave its one order back with the centre's approval before anything fell due:
    # nothing to judge it on, so it is last in the order but on no list
    assert (ranked["red_list"], ranked["black_list"]) == (["parks"], ["housing"])
    assert sorted({month for _, month in _table()}) == ["2026-10"]
    assert datetime(2026, 10, 9, tzinfo=UTC) < NOW


def test_gaming_shares_of_a_scripted_month() -> None:
    table: gaming.SharesTable = {}
    timelines = [domain.timeline(factories.audit_facts(history)) for history in _month()]
    for timeline in timelines:
        gaming.accumulate(table, timeline)
    assert table[("parks", "2026-10")].summary() == {
        "replies": 1,
        "close_then_reopen_share": 1.0,
        "extensions": 1,
        "extensions_at_deadline_share": 1.0,
        "rounds_called_back": 1,
        "callbacks_until_satisfied_share": 1.0,
    }
    assert table[("water", "2026-10")].summary() == {
        "replies": 2,
        "close_then_reopen_share": 0.0,  # late's reply came after its deadline: late, not gamed
        "extensions": 1,
        "extensions_at_deadline_share": 0.0,
        "rounds_called_back": 1,
        "callbacks_until_satisfied_share": 0.0,
    }
    assert ("power", "2026-10") not in table  # it never replied, asked or was called back
    parks = table[("parks", "2026-10")]
    flags = [gaming.gaming(timeline) for timeline in timelines]
    assert [f.flagged for f in flags] == [False, False, False, True, False]
    assert set(flags[3].facts) == {
        *parks.replies_near_deadline_reopened,
        *parks.extensions_at_deadline,
        *(c for r in flags[3].callbacks_until_satisfied for c in (r.dissatisfied, r.satisfied)),
        flags[3].close_then_reopen[0].reopened_by,
    }


def test_a_month_is_bounded_in_beijing_time_across_a_year_end() -> None:
    start, end = kpis.month_bounds("2026-12")
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
    )
    assert kpis.month_bounds("2026-01")[1].isoformat() == "2026-02-01T00:00:00+08:00"


def _judged(history: list[events.Event], department: str = "water") -> dict[str, Any]:
    table: kpis.Table = {}
    kpis.accumulate(
        table, domain.timeline(factories.audit_facts(history)), rule=kpis.Rule(), now=NOW
    )
    figures = table[(department, "2026-10")]
    return {
        "volume": len(figures.volume),
        "signed": (len(figures.signed_in_time), len(figures.signed_late_or_never)),
        "completed": (len(figures.completed_on_time), len(figures.completed_late_or_overdue)),
    }


def test_a_holding_taken_away_is_judged_only_on_what_fell_due_before() -> None:
    # withdrawn unsigned within the hour (a front-office answer, a merge): nothing was due
    taken = _appeal()
    withdrawn = _at(taken, events.Withdrawn, 1, department="water", outcome="answered", reason="x")
    assert _judged([taken, withdrawn]) == {"volume": 0, "signed": (0, 0), "completed": (0, 0)}
    # returned with the centre's approval before its sign-for was due: not late, not overdue
    returned = _appeal()
    gone = [
        _at(returned, events.ReturnRequested, 1, department="water", reason_code="x",
            legal_basis="y"),
        _at(returned, events.ReturnApproved, 2, department="water", reasoning="ok"),
    ]  # fmt: skip
    assert _judged([returned, *gone]) == {"volume": 1, "signed": (0, 0), "completed": (0, 0)}
    # closed by the centre after its sign-for fell due unsigned: late for that, no more
    closed = _appeal()
    shut = _at(closed, events.Closed, 30, basis="operator", note="x")
    assert _judged([closed, shut]) == {"volume": 1, "signed": (0, 1), "completed": (0, 0)}
    # held to the end unsigned: late and overdue, as before
    assert _judged([_appeal()]) == {"volume": 1, "signed": (0, 1), "completed": (0, 1)}


def test_a_recomputed_sign_for_deadline_is_the_one_judged() -> None:
    order = _appeal()
    later = factories.DEADLINES.model_copy(update={"sign_for_due": T0 + timedelta(days=3)})
    recomputed = _at(
        order, events.DeadlinesRecomputed, 1, department="water", years=(2027,),
        previous=factories.DEADLINES, deadlines=later,
    )  # fmt: skip
    signed = _at(order, events.SignedFor, 48, department="water", person="李")
    assert _judged([order, recomputed, signed])["signed"] == (1, 0)
    assert _judged([order, signed])["signed"] == (0, 1)  # the first deadline, a day
