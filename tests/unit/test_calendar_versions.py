"""The working-day calendar as versioned data: deadlines counted across a year nobody has
published are provisional, and publishing the year recomputes them as a new fact. The clock
is passed in: 1 December 2026, when the packaged library knows nothing past 2026."""

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from dispatch_service import domain
from dispatch_service.domain import calendar, routing, sla
from shared import envelope, events
from shared.decisions import Context
from shared.workdays import SEED, Arrangement
from tests.unit import factories

STREAM = uuid4()
TABLE = routing.RoutingTable(
    version=1,
    fallback_department="gov-city",
    rules=(routing.RoutingRule("city:water", "water.outage", None, "water"),),
)
# Tuesday 15 December 2026, 10:00 Beijing: a complaint's 15 working days reach into 2027.
DEC_15 = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
# The 2027 arrangement as an operator might publish it: New Year's Day on Friday 1 January,
# and Spring Festival week (5–11 February) off with a make-up Sunday on 31 January.
YEAR_2027 = Arrangement(
    2027,
    holidays=frozenset({date(2027, 1, 1), *(date(2027, 2, d) for d in (5, 8, 9, 10, 11))}),
    workdays=frozenset({date(2027, 1, 31)}),
)


def ctx(now: datetime = DEC_15, actor: str = "service:dispatch") -> Context:
    return Context(actor=actor, now=now, new_id=uuid4)


def fold(history: Sequence[events.Event]) -> domain.WorkOrder:
    order = None
    for event in history:
        order = domain.evolve(order, event)
    assert order is not None
    return order


def assigned(at: datetime = DEC_15) -> list[events.Event]:
    forwarded = factories.forwarded(factories.received(at=at))  # a complaint
    return domain.assign(
        None, forwarded, table=TABLE, policy=sla.DEMO_POLICY, calendar=SEED, context=ctx(at)
    )


def published(*arrangements: Arrangement) -> calendar.Published:
    history: calendar.Published = ()
    for arrangement in arrangements:
        [fact] = calendar.publish_year(
            history, arrangement, stream_id=STREAM, note=None, context=ctx()
        )
        history = calendar.evolve_calendar(history, fact)
    return history


def test_a_deadline_counted_into_an_unpublished_year_is_provisional() -> None:
    [fact] = assigned()
    assert isinstance(fact, events.Assigned)
    d = fact.deadlines
    # 15 working days after 15 Dec on weekdays alone: 16 Dec ... 5 Jan 2027 (1 Jan a Friday)
    assert d.handle_due == datetime(2027, 1, 5, 10, 0, tzinfo=UTC)
    assert d.provisional_years == (2027,)
    assert d.provisional
    assert d.calendar == SEED.version


def test_a_deadline_within_known_years_is_final() -> None:
    [fact] = assigned(datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
    assert isinstance(fact, events.Assigned)
    assert fact.deadlines.provisional_years == ()


def test_clock_hour_limits_never_depend_on_the_calendar() -> None:
    deadlines = sla.deadlines(
        sla.DEMO_POLICY,
        SEED,
        appeal_type="help",
        urgency="urgent",
        category="water.outage",
        start=datetime(2026, 12, 31, 15, 0, tzinfo=UTC),
    )
    assert deadlines.handle_due.year == 2027
    assert deadlines.provisional_years == ()


def test_publishing_a_year_is_a_new_version_and_the_same_arrangement_again_is_none() -> None:
    history = published(YEAR_2027)
    current = calendar.calendar_at(history)
    assert (current.number, current.knows(2027)) == (1, True)
    assert current.version == f"{SEED.version}+published.1"
    assert not current.is_workday(date(2027, 1, 1))
    assert current.is_workday(date(2027, 1, 31))  # a make-up Sunday
    assert (
        calendar.publish_year(history, YEAR_2027, stream_id=STREAM, note=None, context=ctx()) == []
    )
    corrected = Arrangement(2027, YEAR_2027.holidays | {date(2027, 1, 4)}, YEAR_2027.workdays)
    [fact] = calendar.publish_year(history, corrected, stream_id=STREAM, note="更正", context=ctx())
    assert isinstance(fact, events.CalendarPublished)
    assert (fact.number, fact.subject) == (2, STREAM)


def test_an_arrangement_with_a_day_of_another_year_is_refused() -> None:
    with pytest.raises(ValueError, match="not in 2027"):
        Arrangement(2027, frozenset({date(2026, 12, 31)}), frozenset())


def test_publishing_the_year_recomputes_provisional_deadlines_as_a_new_fact() -> None:
    history = assigned()
    order = fold(history)
    later = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
    new_calendar = calendar.calendar_at(published(YEAR_2027))
    [fact] = calendar.recompute_deadlines(
        order, policy=sla.DEMO_POLICY, calendar=new_calendar, context=ctx(later)
    )
    assert isinstance(fact, events.DeadlinesRecomputed)
    assert fact.years == (2027,)
    assert fact.previous == order.deadlines
    # 1 January is a holiday now: the 15th working day moves from 5 to 6 January
    assert fact.deadlines.handle_due == datetime(2027, 1, 6, 10, 0, tzinfo=UTC)
    assert fact.deadlines.provisional_years == ()
    assert fact.deadlines.calendar == new_calendar.version
    assert fact.deadlines.sign_for_due == order.deadlines.sign_for_due  # 16 Dec: known year
    order = fold([*history, fact])
    assert order.deadlines == fact.deadlines
    # settled: nothing more to recompute, and a closed order is never touched
    assert (
        calendar.recompute_deadlines(
            order, policy=sla.DEMO_POLICY, calendar=new_calendar, context=ctx(later)
        )
        == []
    )


def test_recomputing_replays_the_approved_extensions() -> None:
    history = assigned()
    order = fold(history)
    history += domain.sign_for(order, department="water", person="李工", context=ctx())
    order = fold(history)
    history += domain.request_extension(
        order,
        department="water",
        working_days=5,
        reason="需更换主管道",
        legal_basis="规定",
        policy=sla.DEMO_POLICY,
        context=ctx(),
    )
    history += domain.approve_extension(
        fold(history), policy=sla.DEMO_POLICY, calendar=SEED, context=ctx()
    )
    order = fold(history)
    assert order.deadlines.handle_due == datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
    assert order.deadlines.provisional_years == (2027,)
    new_calendar = calendar.calendar_at(published(YEAR_2027))
    [fact] = calendar.recompute_deadlines(
        order, policy=sla.DEMO_POLICY, calendar=new_calendar, context=ctx()
    )
    assert isinstance(fact, events.DeadlinesRecomputed)
    # base 6 January (1 January off), plus 5 working days: 7, 8, 11, 12, 13 January
    assert fact.deadlines.handle_due == datetime(2027, 1, 13, 10, 0, tzinfo=UTC)


def test_a_v1_deadline_fact_reads_as_final() -> None:
    [fact] = assigned(datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
    recorded = envelope.encode(fact, version=1, prev_hash=envelope.GENESIS_HASH)
    wire = json.loads(recorded.body)
    wire["schema_version"] = 1
    del wire["data"]["deadlines"]["provisional_years"]
    decoded = envelope.decode(envelope.canonical_json(wire))
    assert isinstance(decoded.event, events.Assigned)
    assert decoded.event.deadlines.provisional_years == ()
