"""Working days across the 2025 National Day holiday, and SLA deadlines computed on them."""

from datetime import UTC, date, datetime, time

import pytest

from dispatch_service.domain import sla
from shared.workdays import Arrangement, WorkdayCalendar

CALENDAR = WorkdayCalendar()


def test_national_day_week_is_off_and_its_make_up_weekend_days_are_on() -> None:
    # 2025: 1–8 October off; Sunday 28 September and Saturday 11 October are working days
    assert not any(CALENDAR.is_workday(date(2025, 10, d)) for d in range(1, 9))
    assert CALENDAR.is_workday(date(2025, 9, 28))
    assert CALENDAR.is_workday(date(2025, 10, 11))
    assert not CALENDAR.is_workday(date(2025, 10, 12))  # an ordinary Sunday


def test_adding_working_days_skips_the_holiday_and_counts_the_make_up_day() -> None:
    # From Tuesday 30 September: Thu 9 Oct is the 1st working day after, Sat 11 Oct the 3rd
    assert CALENDAR.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert CALENDAR.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert CALENDAR.add_workdays(date(2025, 9, 30), 4) == date(2025, 10, 13)
    assert CALENDAR.workdays_between(date(2025, 9, 30), date(2025, 10, 13)) == 4


def test_years_beyond_the_published_arrangement_fall_back_to_weekdays() -> None:
    assert CALENDAR.is_workday(date(2027, 3, 3))  # a Wednesday
    assert not CALENDAR.is_workday(date(2027, 3, 6))  # a Saturday


def test_a_published_arrangement_wins_and_changes_the_calendar_version() -> None:
    corrected = WorkdayCalendar(
        [Arrangement(2027, frozenset({date(2027, 1, 1)}), frozenset({date(2027, 1, 2)}))],
        number=1,
    )
    assert not corrected.is_workday(date(2027, 1, 1))
    assert corrected.is_workday(date(2027, 1, 2))
    assert corrected.version != CALENDAR.version
    assert corrected.knows(2027)
    assert not CALENDAR.knows(2027)


def test_a_working_day_deadline_falls_at_the_end_of_the_last_allowed_day() -> None:
    # a complaint made on 30 September at 15:00 Beijing, handling limit 15 working days
    start = datetime(2025, 9, 30, 7, 0, tzinfo=UTC)
    deadlines = sla.deadlines(
        sla.DEMO_POLICY,
        CALENDAR,
        appeal_type="complaint",
        urgency="normal",
        category="water.outage",
        start=start,
    )
    # working days after 30 Sep: 9, 10, 11(Sat), 13–17, 20–24, 27, 28 October → the 15th is 28
    assert deadlines.handle_due == datetime(2025, 10, 28, 10, 0, tzinfo=UTC)  # 18:00 Beijing
    assert deadlines.sign_for_due == datetime(2025, 10, 9, 10, 0, tzinfo=UTC)
    assert start < deadlines.handle_warn_at < deadlines.handle_due
    assert (deadlines.policy_version, deadlines.calendar) == (1, CALENDAR.version)


def test_urgent_appeals_run_on_clock_hours_through_holidays() -> None:
    start = datetime(2025, 10, 1, 1, 0, tzinfo=UTC)  # National Day itself
    deadlines = sla.deadlines(
        sla.DEMO_POLICY,
        CALENDAR,
        appeal_type="help",
        urgency="urgent",
        category="water.outage",
        start=start,
    )
    assert deadlines.sign_for_due == datetime(2025, 10, 1, 2, 0, tzinfo=UTC)
    assert deadlines.handle_due == datetime(2025, 10, 2, 1, 0, tzinfo=UTC)


def test_the_most_specific_clock_rule_wins_and_a_gap_is_an_error() -> None:
    policy = sla.SlaPolicy(
        version=3,
        clocks={
            (sla.ANY, "urgent", sla.ANY): sla.Clocks(sla.Limit(1, "hours"), sla.Limit(2, "hours")),
            ("help", "urgent", sla.ANY): sla.Clocks(sla.Limit(3, "hours"), sla.Limit(4, "hours")),
        },
    )
    assert policy.clocks_for("help", "urgent", "water.outage").sign_for == sla.Limit(3, "hours")
    assert policy.clocks_for("report", "urgent", "water.outage").sign_for == sla.Limit(1, "hours")
    with pytest.raises(LookupError):
        policy.clocks_for("report", "normal", "water.outage")


def test_a_policy_survives_its_stored_form() -> None:
    policy = sla.SlaPolicy(
        version=2, clocks=dict(sla.DEMO_POLICY.clocks), warn_share=0.75, day_ends_at=time(17, 30)
    )
    assert sla.from_document(2, sla.to_document(policy)) == policy


def test_the_first_assignment_records_the_dispatch_deadline_from_receipt() -> None:
    received_at = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
    start = datetime(2025, 10, 9, 2, 30, tzinfo=UTC)
    normal = sla.deadlines(
        sla.DEMO_POLICY,
        CALENDAR,
        appeal_type="help",
        urgency="normal",
        category="water.outage",
        start=start,
        received_at=received_at,
    )
    urgent = sla.deadlines(
        sla.DEMO_POLICY,
        CALENDAR,
        appeal_type="help",
        urgency="urgent",
        category="water.outage",
        start=start,
        received_at=received_at,
    )
    assert normal.dispatch_due == datetime(2025, 10, 10, 2, 0, tzinfo=UTC)  # 24 hours
    assert urgent.dispatch_due == datetime(2025, 10, 9, 3, 0, tzinfo=UTC)  # 1 hour
    redispatch = sla.deadlines(
        sla.DEMO_POLICY,
        CALENDAR,
        appeal_type="help",
        urgency="normal",
        category="water.outage",
        start=start,
    )
    assert redispatch.dispatch_due is None
