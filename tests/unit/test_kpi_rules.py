"""KPI rules as versioned data: the same month under two versions of a rule gives different
figures, each still naming the facts behind it."""

from datetime import date

import pytest
from pydantic import ValidationError

from audit_service import domain
from audit_service.domain import clocks, kpis, rules, standings
from tests.unit import factories
from tests.unit.test_kpis import NOW, _month

MONTH = [domain.timeline(factories.audit_facts(history)) for history in _month()]
IDS = {str(fact.event_id) for timeline in MONTH for fact in timeline}


def _table(rule: kpis.Rule) -> kpis.Table:
    table: kpis.Table = {}
    for timeline in MONTH:
        kpis.accumulate(table, timeline, rule=rule, now=NOW)
    return table


def test_one_month_under_two_rule_versions() -> None:
    v1 = rules.to_rule("standard", 1, rules.DEFAULT)
    # Version 2 allows 30 working days to handle anything, counted Monday to Friday.
    loose = rules.RuleDocument.model_validate(
        {"handling_limits": {"working_days": {"*": 30}, "calendar": "weekdays"}}
    )
    v2 = rules.to_rule("standard", 2, loose)
    first, second = _table(v1), _table(v2)
    water_1, water_2 = first[("water", "2026-10")], second[("water", "2026-10")]
    # v1: one on time, one late, two overdue; v2: the late reply is on time, and the two
    # unanswered holdings are not due yet on day 40 (30 weekdays is six weeks).
    assert water_1.summary()["on_time_completion_rate"] == round(1 / 4, 4)
    assert water_2.summary()["on_time_completion_rate"] == 1.0
    [late] = [i for i in water_1.completed_late_or_overdue if i in water_1.completed]
    assert late in water_2.completed_on_time
    assert set(water_1.completed_on_time) < set(water_2.completed_on_time)
    for figures in (water_1, water_2):
        evidence = figures.evidence()
        assert evidence["volume"]
        assert evidence["completed_on_time"]
        assert {i for listed in evidence.values() for i in listed} <= IDS
    # Figures the rule does not touch stay the same.
    assert water_1.summary()["satisfaction_rate"] == water_2.summary()["satisfaction_rate"]


def test_a_rule_without_limits_keeps_the_recorded_deadlines() -> None:
    first = _table(kpis.Rule())
    again = _table(rules.to_rule("standard", 1, rules.DEFAULT))
    assert {k: v.summary() for k, v in first.items()} == {k: v.summary() for k, v in again.items()}


def test_calendars_differ_on_public_holidays() -> None:
    weekdays = clocks.HandlingLimits({"*": 1}, "weekdays")
    official = clocks.HandlingLimits({"*": 1}, "chinese-calendar")
    # From 30 September 2026 (a Wednesday), one working day on: the National Day holiday
    # week counts Monday to Friday only in the plain weekday calendar.
    eve = factories.T0.replace(month=9, day=30)
    assert weekdays.extended(eve, 1).date() == date(2026, 10, 1)
    assert official.extended(eve, 1).date() > date(2026, 10, 7)
    assert weekdays.calendar_version == "weekdays"
    assert official.calendar_version.startswith("chinese-calendar-")


def test_a_rule_document_is_checked() -> None:
    with pytest.raises(ValidationError):
        rules.RuleDocument.model_validate({"handling_limits": {"working_days": {"*": 0}}})
    with pytest.raises(ValidationError):
        rules.RuleDocument.model_validate({"unknown": True})


def test_a_stored_rule_fixes_the_lists_too() -> None:
    assert (rules.DEFAULT.list_min_volume, rules.DEFAULT.listed) == (
        kpis.Rule.list_min_volume,
        kpis.Rule.listed,
    )
    table = _table(kpis.Rule())
    month = "2026-10"
    strict = rules.to_rule("standard", 1, rules.DEFAULT)
    lenient_document = rules.RuleDocument(list_min_volume=1, listed=1)
    lenient = rules.to_rule("standard", 2, lenient_document)
    assert (lenient.list_min_volume, lenient.listed) == (1, 1)
    by_default = standings.ranking(table, month, rule=strict)
    by_version = standings.ranking(table, month, rule=lenient)
    assert by_default["rows"] == by_version["rows"]  # the order does not depend on the lists
    # No department held five appeals this month: version 1 lists nobody; version 2 names
    # the best and the worst of the three, and never the middle one.
    assert max(row["volume"] for row in by_default["rows"]) < 5
    assert by_default["red_list"] == by_default["black_list"] == []
    assert (by_version["red_list"], by_version["black_list"]) == (["parks"], ["housing"])
    with pytest.raises(ValidationError):
        rules.RuleDocument.model_validate({"list_min_volume": 0})
    with pytest.raises(ValidationError):
        rules.RuleDocument.model_validate({"listed": 101})
