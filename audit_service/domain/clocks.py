"""The handling deadline a KPI rule measures against, when it is not the one dispatch
recorded. Pure.

By default a holding is on time against the deadline dispatch set and recorded in the fact,
with the SLA policy and calendar versions that computed it: nothing is recomputed. A rule
may instead name its own handling limits (working days per appeal type) and working-day
calendar, to ask "how would this month look under the proposed policy?": the deadline is
then recomputed from the holding's start, and an approved extension adds its working days
on top, under that calendar. Clock-hour limits (urgent appeals) always keep the recorded
deadline: a policy in working days says nothing about them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

from shared.workdays import HOTLINE_ZONE, WorkdayCalendar

ANY = "*"
CalendarName = Literal["chinese-calendar", "weekdays"]


class Weekdays(WorkdayCalendar):
    """Monday to Friday, no public holidays or make-up days: the calendar many other
    cities' rules count in, for comparison."""

    def __init__(self) -> None:
        super().__init__()
        self.version = "weekdays"

    def _lookup(self, day: date) -> bool:
        return day.weekday() < 5


CALENDARS: Mapping[str, WorkdayCalendar] = {
    "chinese-calendar": WorkdayCalendar(),
    "weekdays": Weekdays(),
}


@dataclass(frozen=True)
class HandlingLimits:
    """Working days to handle an appeal, by appeal type (ANY for the rest), counted in
    `calendar` from the day after the start, due at `day_ends_at` Beijing time."""

    working_days: Mapping[str, int] = field(default_factory=dict)
    calendar: CalendarName = "chinese-calendar"
    day_ends_at: time = time(18, 0)

    @property
    def calendar_version(self) -> str:
        return CALENDARS[self.calendar].version

    def _due(self, day: date, count: int) -> datetime:
        last = CALENDARS[self.calendar].add_workdays(day, count)
        return datetime.combine(last, self.day_ends_at, HOTLINE_ZONE)

    def handle_due(
        self, *, start: datetime, appeal_type: str | None, urgency: str | None, recorded: datetime
    ) -> datetime:
        limit = self.working_days.get(appeal_type or "", self.working_days.get(ANY))
        if urgency == "urgent" or limit is None:
            return recorded
        return self._due(start.astimezone(HOTLINE_ZONE).date(), limit)

    def extended(self, current: datetime, working_days: int) -> datetime:
        return self._due(current.astimezone(HOTLINE_ZONE).date(), working_days)
