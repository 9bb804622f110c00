"""Working days: weekends and Chinese public holidays are off, make-up days (调休) are on.

The State Council's yearly arrangement comes from the `chinese-calendar` package. Years it
does not cover yet fall back to Monday to Friday until the package (or an override here) knows
them; the calendar's version names both, so a deadline can always be traced to the calendar
that computed it. Pure: no clock, no I/O.
"""

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import chinese_calendar

# The hotline's local time (Beijing): working days, months of the measures, close of business.
HOTLINE_ZONE: Final = ZoneInfo("Asia/Shanghai")


class WorkdayCalendar:
    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        overrides_label: str | None = None,
    ) -> None:
        self._known: dict[date, bool] = {}
        self._holidays = frozenset(extra_holidays)
        self._workdays = frozenset(extra_workdays)
        base = f"chinese-calendar-{chinese_calendar.__version__}"
        self.version = f"{base}+{overrides_label}" if overrides_label else base

    def is_workday(self, day: date) -> bool:
        # The calendar never changes once built, and the package's own lookup is slow enough
        # to show in dispatch's profile: remember each day's answer.
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._lookup(day)
        return known

    def _lookup(self, day: date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year the package does not cover yet
            return day.weekday() < 5

    def add_workdays(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (`day` itself is not counted)."""
        found = 0
        while found < count:
            day += timedelta(days=1)
            if self.is_workday(day):
                found += 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count
