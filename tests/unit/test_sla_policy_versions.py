"""SLA policy versions: which one is in force when, and which rule of it an appeal runs on.
Pure, with the clock passed in."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import uuid4

import pytest

from dispatch_service import domain
from dispatch_service.domain import routing, sla
from shared import events
from shared.decisions import Context
from shared.workdays import WorkdayCalendar
from tests.unit import factories

CALENDAR = WorkdayCalendar()
TABLE = routing.RoutingTable(
    version=1,
    fallback_department="gov-city",
    rules=(routing.RoutingRule("city:water", "water.outage", None, "water"),),
)
# Thursday 9 October 2025, 10:00 in Beijing
T = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
Unit = Literal["hours", "working_days"]
HOURS: Unit = "hours"
DAYS: Unit = "working_days"


def clocks(handling: int, unit: Unit = DAYS) -> sla.Clocks:
    return sla.Clocks(sla.Limit(1, DAYS), sla.Limit(handling, unit))


def test_the_version_in_force_is_the_one_that_took_effect_last_by_then() -> None:
    versions = [(1, sla.SINCE_EVER), (2, T), (3, T + timedelta(days=30))]
    assert sla.in_force(versions, T - timedelta(seconds=1)) == 1
    assert sla.in_force(versions, T) == 2  # from its very moment
    assert sla.in_force(versions, T + timedelta(days=29)) == 2
    assert sla.in_force(versions, T + timedelta(days=30)) == 3
    assert sla.in_force([(1, T)], T - timedelta(seconds=1)) is None


def test_a_scheduled_version_takes_over_on_its_date_though_another_came_meanwhile() -> None:
    # v2 was scheduled for next year; v3, published later, fixes the rest of this year.
    new_year = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    versions = [(1, sla.SINCE_EVER), (2, new_year), (3, new_year - timedelta(days=10))]
    assert sla.in_force(versions, new_year - timedelta(days=1)) == 3
    assert sla.in_force(versions, new_year + timedelta(days=1)) == 2
    # two taking effect at once: the later published wins, whatever the order listed
    assert sla.in_force([(5, T), (4, T)], T) == 5


def test_the_most_specific_rule_wins_urgency_then_category_then_type() -> None:
    policy = sla.SlaPolicy(
        version=4,
        clocks={
            (sla.ANY, sla.ANY, sla.ANY): clocks(5),
            ("complaint", sla.ANY, sla.ANY): clocks(15),
            (sla.ANY, sla.ANY, "water.*"): clocks(24, HOURS),
            (sla.ANY, sla.ANY, "water.outage"): clocks(12, HOURS),
            ("complaint", sla.ANY, "water.outage"): clocks(8, HOURS),
            (sla.ANY, "urgent", sla.ANY): clocks(2, HOURS),
        },
    )

    def handling(appeal_type: str, urgency: str, category: str) -> sla.Limit:
        return policy.clocks_for(appeal_type, urgency, category).handling

    assert handling("help", "normal", "housing.rental") == sla.Limit(5, DAYS)
    assert handling("complaint", "normal", "housing.rental") == sla.Limit(15, DAYS)
    # a category rule outranks a type rule; the exact code its family; a family any
    assert handling("help", "normal", "water.quality") == sla.Limit(24, HOURS)
    assert handling("help", "normal", "water.outage") == sla.Limit(12, HOURS)
    assert handling("complaint", "normal", "water.outage") == sla.Limit(8, HOURS)
    # a family matches by its whole first part only
    assert handling("help", "normal", "waterworks.leak") == sla.Limit(5, DAYS)
    # urgency outranks everything: urgent limits are clock hours
    assert handling("complaint", "urgent", "water.outage") == sla.Limit(2, HOURS)


def test_a_longer_family_beats_a_shorter_one() -> None:
    policy = sla.SlaPolicy(
        version=1,
        clocks={
            (sla.ANY, sla.ANY, "a.*"): clocks(3),
            (sla.ANY, sla.ANY, "a.b.*"): clocks(2),
        },
    )
    assert policy.clocks_for("help", "normal", "a.b.c").handling == sla.Limit(2, DAYS)
    assert policy.clocks_for("help", "normal", "a.c").handling == sla.Limit(3, DAYS)


def test_a_category_rule_survives_the_stored_form_and_old_documents_mean_any() -> None:
    policy = sla.SlaPolicy(
        version=2,
        clocks={("help", sla.ANY, "water.*"): clocks(1), (sla.ANY, sla.ANY, sla.ANY): clocks(5)},
        effective_from=T,
    )
    assert sla.from_document(2, sla.to_document(policy), effective_from=T) == policy
    old = sla.to_document(sla.DEMO_POLICY)
    for rule in old["clocks"]:
        del rule["category"]
    assert sla.from_document(1, old) == sla.DEMO_POLICY


def test_appeals_before_and_after_a_policy_takes_effect_get_its_deadlines_and_versions() -> None:
    """What the handler does: the version in force at receipt, then assignment under it."""
    old = sla.DEMO_POLICY  # complaints: 15 working days
    new = replace(
        sla.DEMO_POLICY,
        version=2,
        clocks={**sla.DEMO_POLICY.clocks, ("complaint", sla.ANY, "water.*"): clocks(3)},
        effective_from=T,
    )
    by_version = {1: old, 2: new}
    versions = [(1, sla.SINCE_EVER), (2, T)]

    def assigned(received_at: datetime) -> events.Deadlines:
        forwarded = factories.forwarded(factories.received(at=received_at))
        policy = by_version[sla.in_force(versions, forwarded.received_at) or 0]
        [fact] = domain.assign(
            None,
            forwarded,
            table=TABLE,
            policy=policy,
            calendar=CALENDAR,
            context=Context(actor="service:dispatch", now=T + timedelta(minutes=5), new_id=uuid4),
        )
        assert isinstance(fact, events.Assigned)
        return fact.deadlines

    before, after = assigned(T - timedelta(minutes=1)), assigned(T)
    assert (before.policy_version, after.policy_version) == (1, 2)
    assert before.calendar == after.calendar == CALENDAR.version
    # both assigned at 10:05 on Thursday 9 October, counting from Friday 10 (Saturday 11 is
    # a make-up working day): 15 working days end on the 29th, 3 on Monday the 13th, 18:00
    assert before.handle_due == datetime(2025, 10, 29, 10, 0, tzinfo=UTC)
    assert after.handle_due == datetime(2025, 10, 13, 10, 0, tzinfo=UTC)


def test_a_policy_without_a_rule_for_the_appeal_is_an_error_not_a_guess() -> None:
    policy = sla.SlaPolicy(version=1, clocks={("help", sla.ANY, "water.*"): clocks(1)})
    with pytest.raises(LookupError, match=r"complaint/normal/water\.outage"):
        policy.clocks_for("complaint", "normal", "water.outage")
