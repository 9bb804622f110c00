"""An assisting department's deadline counted into a year with no published arrangement is
provisional, and is recomputed as a new fact once that year is published, beside the
lead's. Pure domain, the clock passed in: 29 December 2026, when nothing past 2026 is known."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch_service import domain
from dispatch_service.domain import calendar, sla
from dispatch_service.store import work_orders as stored
from shared import events
from shared.workdays import SEED
from tests.unit import factories
from tests.unit.test_assists_and_merges import _asked, _at, _contributed, _table
from tests.unit.test_calendar_versions import YEAR_2027, ctx, fold, published
from tests.unit.test_dispatch_domain import TABLE

# Tuesday 29 December 2026, 10:00 Beijing: the assist window's 3 working days on weekdays
# alone are 30 and 31 December and Friday 1 January 2027.
DEC_29 = datetime(2026, 12, 29, 2, 0, tzinfo=UTC)
JAN_1_DAY_END = datetime(2027, 1, 1, 10, 0, tzinfo=UTC)  # 18:00 Beijing
JAN_4_DAY_END = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)


def _assigned() -> list[events.Event]:
    received = factories.received(category="water.outage", at=DEC_29)
    return domain.assign(
        None,
        factories.forwarded(received),  # water leads, urban-east assists
        table=TABLE,
        policy=sla.DEMO_POLICY,
        calendar=SEED,
        context=ctx(DEC_29),
    )


def _assist_marks(order: domain.WorkOrder, *, at: datetime) -> list[events.AssistOverdue]:
    found = domain.due_signals(order, handled=False, context=ctx(at))
    return [f for f in found if isinstance(f, events.AssistOverdue)]


def test_an_ask_counted_into_an_unpublished_year_is_provisional_and_so_is_the_order() -> None:
    [_, ask] = history = _assigned()
    assert isinstance(ask, events.AssistRequested)
    assert (ask.department, ask.due, ask.provisional_years) == (
        "urban-east",
        JAN_1_DAY_END,
        (2027,),
    )
    order = fold(history)
    [assist] = order.assists
    assert assist.provisional_years == (2027,)
    view = stored.view(order, version=2, handled=False, now=DEC_29)
    assert view["assists"][0]["provisional_years"] == [2027]


def test_publishing_the_year_recomputes_the_ask_as_its_own_fact() -> None:
    history = _assigned()
    order = fold(history)
    later = datetime(2026, 12, 30, 2, 0, tzinfo=UTC)
    new_calendar = calendar.calendar_at(published(YEAR_2027))
    lead, assist = calendar.recompute_deadlines(
        order, policy=sla.DEMO_POLICY, calendar=new_calendar, context=ctx(later)
    )
    assert isinstance(lead, events.DeadlinesRecomputed)
    assert isinstance(assist, events.AssistDeadlineRecomputed)
    # 1 January is a holiday now: the third working day is Monday 4 January
    assert (assist.department, assist.years, assist.previous_due, assist.due) == (
        "urban-east",
        (2027,),
        JAN_1_DAY_END,
        JAN_4_DAY_END,
    )
    assert (assist.policy_version, assist.calendar, assist.provisional_years) == (
        sla.DEMO_POLICY.version,
        new_calendar.version,
        (),
    )
    assert (assist.time, assist.subject) == (later, order.appeal_id)
    # its warning mark follows the recomputed deadline
    assert assist.warn_at == sla.warn_at(sla.DEMO_POLICY, DEC_29, deadline=JAN_4_DAY_END)
    order = fold([*history, lead, assist])
    [settled] = order.assists
    assert (settled.due, settled.provisional_years, settled.state) == (JAN_4_DAY_END, (), "asked")
    # the timer now waits for the recomputed deadline, not the provisional one
    assert _assist_marks(order, at=JAN_1_DAY_END) == []
    [overdue] = _assist_marks(order, at=JAN_4_DAY_END)
    assert overdue.due == JAN_4_DAY_END
    # settled: nothing more to recompute
    assert (
        calendar.recompute_deadlines(
            order, policy=sla.DEMO_POLICY, calendar=new_calendar, context=ctx(later)
        )
        == []
    )


def test_an_ask_capped_by_the_leads_deadline_is_provisional_on_the_leads_years() -> None:
    long_window = replace(sla.DEMO_POLICY, assist_window=sla.Limit(10, "working_days"))
    within_2026 = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    into_2027 = datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
    assert sla.assist_due(long_window, SEED, start=DEC_29, handle_due=within_2026) == (
        within_2026,
        (),
    )
    assert sla.assist_due(long_window, SEED, start=DEC_29, handle_due=into_2027) == (
        into_2027,
        (2027,),
    )


# --- audit: the recomputed deadline is the one an assist is measured on ---------------------


def _recomputed(base: events.Event, department: str, hours: float, due_hours: float) -> Any:
    return _at(
        base,
        events.AssistDeadlineRecomputed,
        hours,
        department=department,
        years=(2027,),
        previous_due=factories.T0 + timedelta(hours=72),
        due=factories.T0 + timedelta(hours=due_hours),
        policy_version=1,
        calendar="chinese-calendar-1.11.0+published.1",
    )


def test_an_assist_is_measured_on_its_recomputed_deadline() -> None:
    moved_later, moved_earlier = (factories.assigned(factories.received()) for _ in range(2))
    table = _table(
        [
            moved_later,
            _asked(moved_later, "parks", 72),
            _contributed(moved_later, "parks", 90),  # late on the provisional deadline...
            _recomputed(moved_later, "parks", 100, 96),  # ...on time on the one that stands
        ],
        [
            moved_earlier,
            _asked(moved_earlier, "parks", 72),
            _recomputed(moved_earlier, "parks", 10, 48),
            _contributed(moved_earlier, "parks", 60),  # late: due at 48 hours now
        ],
        now=factories.T0 + timedelta(days=5),
    )
    parks = table[("parks", "2026-10")].summary()
    assert (parks["assist_volume"], parks["assist_on_time_rate"]) == (2, 0.5)
