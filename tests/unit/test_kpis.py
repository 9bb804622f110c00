"""A scripted month with known answers for every measure."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from audit_service import domain, kpis
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


def _month() -> list[list[events.Event]]:
    smooth = _appeal()
    late = _appeal()
    bounced = _appeal("power")
    unhappy = _rated(late, 24 * 21, "dissatisfied")
    return [
        [
            smooth,
            _at(smooth, events.SignedFor, 2, department="water", person="李"),
            _handled(smooth, 48),
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
    ]


def _table(rule: kpis.Rule | None = None) -> kpis.Table:
    table: kpis.Table = {}
    for history in _month():
        kpis.accumulate(
            table, domain.timeline(factories.audit_facts(history)), rule or kpis.Rule(), NOW
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
    }
    power = table[("power", "2026-10")].summary()
    assert (power["volume"], power["return_rate"], power["returns_overruled"]) == (1, 1.0, 0)


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
    assert strict == {}


def test_the_ranking_names_red_and_black_lists() -> None:
    ranked = kpis.ranking(_table(), "2026-10", listed=1)
    assert [r["department"] for r in ranked["rows"]] == ["water", "power"]
    assert (ranked["red_list"], ranked["black_list"]) == (["water"], ["power"])
    assert kpis.months(_table()) == ["2026-10"]
    assert datetime(2026, 10, 9, tzinfo=UTC) < NOW
