"""The rating window never closes while the callback is still due, on the same calendar as
dispatch's deadlines. The clock is passed in."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from feedback_service import domain
from shared import events
from shared.decisions import Context
from shared.workdays import SEED, Arrangement, WorkdayCalendar
from tests.unit import factories

BEIJING = ZoneInfo("Asia/Shanghai")
APPEAL = uuid4()
RECEIVED = factories.received(APPEAL)
ASSIGNED = factories.assigned(RECEIVED)
HOLDER = domain.Holder("water", ASSIGNED.id, ASSIGNED.correlation_id, 1, True)
# Friday 13 November 2026, 17:30 Beijing: the reply is approved.
FRIDAY_1730 = datetime(2026, 11, 13, 17, 30, tzinfo=BEIJING).astimezone(UTC)
MONDAY_1730 = datetime(2026, 11, 16, 17, 30, tzinfo=BEIJING).astimezone(UTC)
MONDAY_1800 = datetime(2026, 11, 16, 18, 0, tzinfo=BEIJING).astimezone(UTC)
WINDOW = timedelta(hours=72)


def at(now: datetime, actor: str = "operator:zhao") -> Context:
    return Context(actor, now, new_id=uuid4)


def fold(history: Sequence[events.Event]) -> domain.Feedback:
    state = domain.Feedback()
    for event in history:
        state = domain.evolve(state, event)
    return state


def approved(calendar: WorkdayCalendar = SEED) -> list[events.Event]:
    history = domain.handle(
        domain.Feedback(),
        domain.Reply("solved", "已修复"),
        appeal_id=APPEAL,
        holder=HOLDER,
        department="water",
        context=at(FRIDAY_1730 - timedelta(hours=2), "department:water"),
    )
    due = domain.callback_due(FRIDAY_1730, calendar, working_days=1, hours=None)
    history += domain.review(
        fold(history),
        domain.ReviewDecision("approved"),
        appeal_id=APPEAL,
        holder=None,
        callback_due=due,
        calendar=calendar.version,
        rating_window=WINDOW,
        context=at(FRIDAY_1730),
    )
    return history


def expire(state: domain.Feedback, now: datetime) -> list[events.Event]:
    return domain.expire_rating(
        state, round_=1, window_closed_at=now, appeal_id=APPEAL, context=at(now, "service:x")
    )


def test_a_friday_approval_keeps_the_window_open_until_mondays_callback_is_due() -> None:
    history = approved()
    review = history[-1]
    assert isinstance(review, events.ReplyReviewed)
    assert review.callback_due == MONDAY_1800
    # 72 hours would end at Monday 17:30, half an hour before the callback is due
    assert review.rating_closes_at == MONDAY_1800
    assert review.calendar == SEED.version
    state = fold(history)
    assert expire(state, MONDAY_1730) == []  # the callback is still due: not "not rated"
    [not_rated] = expire(state, MONDAY_1800)
    assert isinstance(not_rated, events.NotRated)


def test_an_unreached_callback_keeps_the_window_open_until_the_next_attempt() -> None:
    history = approved()
    monday_1700 = MONDAY_1800 - timedelta(hours=1)
    history += domain.call_back(
        fold(history),
        domain.Callback(reached=False),
        appeal_id=APPEAL,
        max_attempts=3,
        retry_after=timedelta(hours=4),
        context=at(monday_1700),
    )
    state = fold(history)
    assert state.callback_due == monday_1700 + timedelta(hours=4)
    assert expire(state, MONDAY_1800) == []
    assert expire(state, monday_1700 + timedelta(hours=4)) != []


def test_the_callback_falls_due_on_the_published_calendar() -> None:
    # An operator published a (made-up) arrangement making Monday 16 November a holiday:
    # the callback, and with it the window, move to Tuesday.
    published = WorkdayCalendar(
        [Arrangement(2026, frozenset({date(2026, 11, 16)}), frozenset())], number=1
    )
    review = approved(published)[-1]
    assert isinstance(review, events.ReplyReviewed)
    assert review.callback_due == MONDAY_1800 + timedelta(days=1)
    assert review.rating_closes_at == MONDAY_1800 + timedelta(days=1)
    assert review.calendar == published.version


def test_a_long_window_is_kept_when_the_callback_is_due_sooner() -> None:
    history = domain.handle(
        domain.Feedback(),
        domain.Reply("solved", "已修复"),
        appeal_id=APPEAL,
        holder=HOLDER,
        department="water",
        context=at(FRIDAY_1730),
    )
    [review] = domain.review(
        fold(history),
        domain.ReviewDecision("approved"),
        appeal_id=APPEAL,
        holder=None,
        callback_due=MONDAY_1800,
        calendar=SEED.version,
        rating_window=timedelta(days=7),
        context=at(FRIDAY_1730),
    )
    assert isinstance(review, events.ReplyReviewed)
    assert review.rating_closes_at == FRIDAY_1730 + timedelta(days=7)


def test_what_the_citizen_said_of_the_department_reaches_the_rating() -> None:
    history = approved()
    made, rated = domain.call_back(
        fold(history),
        domain.Callback(
            reached=True, satisfaction="dissatisfied", solved=True, department_at_fault=True
        ),
        appeal_id=APPEAL,
        max_attempts=3,
        retry_after=timedelta(hours=4),
        context=at(MONDAY_1730),
    )
    assert isinstance(made, events.CallbackMade)
    assert isinstance(rated, events.Rated)
    assert (made.department_at_fault, rated.department_at_fault, rated.solved) == (
        True,
        True,
        True,
    )
