"""Working days: weekends and Chinese public holidays are off, make-up days (调休) are on.

The calendar is versioned data. Version 0 is the seed: the years the packaged
`chinese-calendar` library knows. Each later version publishes one year's official
arrangement (the State Council General Office's holidays and make-up working days), which
replaces whatever the seed said of that year. dispatch records each version as a fact
(`calendar.published`), so every service that reads dispatch's topic builds the same
calendar for the same version, and a deadline names the version that computed it.

A year neither the seed nor a published arrangement covers falls back to Monday to Friday;
a deadline counted across such a year is provisional (`unknown_years`) and is recomputed
once the year is published. Pure: no clock, no I/O.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import chinese_calendar

# The hotline's local time (Beijing): working days, months of the measures, close of business.
HOTLINE_ZONE: Final = ZoneInfo("Asia/Shanghai")
SEED_VERSION: Final = f"chinese-calendar-{chinese_calendar.__version__}"
SEED_YEARS: Final = frozenset(
    day.year for day in (*chinese_calendar.constants.holidays, *chinese_calendar.constants.workdays)
)


@dataclass(frozen=True, slots=True)
class Arrangement:
    """One year's official arrangement: its public holidays on working weekdays and its
    make-up working days on weekends. Any other day is a weekday or a weekend as usual."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        strays = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if strays:
            raise ValueError(f"{strays[0].isoformat()} is not in {self.year}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a working day")


def version_name(number: int) -> str:
    """The calendar version's name on deadline facts: the seed, or the seed plus the
    number of arrangements published on top of it."""
    return SEED_VERSION if number == 0 else f"{SEED_VERSION}+published.{number}"


class WorkdayCalendar:
    """The calendar at one version: the seed with `arrangements` applied in order (a later
    arrangement of a year replaces an earlier one)."""

    def __init__(self, arrangements: Iterable[Arrangement] = (), *, number: int = 0) -> None:
        self._known: dict[date, bool] = {}
        self.published: dict[int, Arrangement] = {}
        for arrangement in arrangements:
            self.published[arrangement.year] = arrangement
        self.number = number
        self.version = version_name(number)

    def knows(self, year: int) -> bool:
        """The year's arrangement is known: seeded by the library, or published."""
        return year in self.published or year in SEED_YEARS

    def unknown_years(self, start: date, end: date) -> tuple[int, ...]:
        """Years from `start` to `end` whose arrangement is not known: a count of working
        days across them rests on weekdays alone, so it is provisional."""
        return tuple(y for y in range(start.year, end.year + 1) if not self.knows(y))

    def is_workday(self, day: date) -> bool:
        # The calendar never changes once built, and the package's own lookup is slow enough
        # to show in dispatch's profile: remember each day's answer.
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._lookup(day)
        return known

    def _lookup(self, day: date) -> bool:
        published = self.published.get(day.year)
        if published is not None:
            if day in published.workdays:
                return True
            return day not in published.holidays and day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year nobody has published yet: provisional
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


SEED: Final = WorkdayCalendar()
