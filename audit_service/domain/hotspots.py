"""Hot spots (未诉先办, acting before the next call): surges of appeals of one category in one
place within hours, against that place's usual rate. Pure: `now` is passed in.

The statistic, meant to be explained to a duty officer in one sentence:

- A place is a category in a district (the primary key: both are classification, never
  personal data) and, as a refinement, a category in a grid cell of about 500 m (coordinates
  rounded down to CELL_DEGREES) when the appeal's coordinates are readable. Coordinates are
  personal data: where they are absent, or encrypted in the fact and unreadable to audit,
  the appeal still counts for its district; it only adds nothing to a cell.
- The window is the last `window_hours` before `now`; the baseline is the `baseline_days`
  before the window. The usual rate is the baseline's count scaled to the window's length,
  floored at `min_expected` (a place that never called is not infinitely surprising).
- A place is a hot spot when its window holds at least `min_count` appeals and the chance of
  at least that many under a Poisson law with the usual rate is at most `max_p_value`.

Example: east's noise appeals run at 14 in 28 days, 0.125 per 6 hours; 6 in the last 6 hours
has a chance of about 5e-9 under that rate, so it is listed.
"""

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from audit_service.domain.facts import Fact

Place = tuple[str, str | None, str | None]  # category, district, cell (None: the district)
CELL_DEGREES = 0.005  # about 550 m north-south, 430 m east-west at Beijing's latitude


@dataclass(frozen=True, slots=True)
class Rule:
    window_hours: int = 6
    baseline_days: int = 28
    min_count: int = 5
    max_p_value: float = 0.001
    min_expected: float = 0.1  # per window: the floor of the usual rate

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        return _before(now, timedelta(hours=self.window_hours)), now

    def baseline(self, now: datetime) -> tuple[datetime, datetime]:
        start = self.window(now)[0]
        return _before(start, timedelta(days=self.baseline_days)), start


def _before(moment: datetime, span: timedelta) -> datetime:
    """`moment - span`, or the earliest time there is (a query asked about year 1)."""
    try:
        return moment - span
    except OverflowError:
        return datetime.min.replace(tzinfo=moment.tzinfo)


@dataclass(frozen=True, slots=True)
class Sighting:
    """One appeal as hot-spot detection reads it: when, what, where (no personal data kept)."""

    appeal_id: UUID
    fact_id: UUID  # its appeal.received
    time: datetime
    category: str
    district: str | None
    cell: str | None  # "lat,long" of the cell's south-west corner; None when unreadable


@dataclass(frozen=True, slots=True)
class HotSpot:
    category: str
    district: str | None
    cell: str | None  # None: the whole district
    window_start: datetime
    window_end: datetime
    count: int
    baseline_count: int
    expected: float  # the usual number in a window this long
    p_value: float
    appeals: tuple[UUID, ...]
    facts: tuple[UUID, ...]


def _cell(location: Any) -> str | None:
    if not isinstance(location, dict):
        return None
    lat, long = location.get("lat"), location.get("long")
    if not isinstance(lat, int | float) or not isinstance(long, int | float):
        return None  # absent, or encrypted: the district alone places the appeal
    return (
        f"{math.floor(lat / CELL_DEGREES) * CELL_DEGREES:.3f},"
        f"{math.floor(long / CELL_DEGREES) * CELL_DEGREES:.3f}"
    )


def sightings(facts: Iterable[Fact]) -> list[Sighting]:
    """Each appeal's receipt, its category as last (re)classified among `facts`."""
    received: dict[UUID, tuple[Fact, dict[str, Any]]] = {}
    category: dict[UUID, tuple[datetime, str]] = {}
    for fact in facts:
        data: dict[str, Any] = json.loads(fact.body)["data"]
        if fact.type == "appeal.received":
            received[fact.subject] = (fact, data)
        elif fact.type == "appeal.classified":
            known = category.get(fact.subject)
            if known is None or known[0] <= fact.time:
                category[fact.subject] = (fact.time, data["category"])
    found = []
    for appeal_id, (fact, data) in received.items():
        location = data.get("location")
        district = location.get("district") if isinstance(location, dict) else None
        found.append(
            Sighting(
                appeal_id=appeal_id,
                fact_id=fact.event_id,
                time=fact.time,
                category=category.get(appeal_id, (fact.time, data["category"]))[1],
                district=district if isinstance(district, str) else None,
                cell=_cell(location),
            )
        )
    return found


def poisson_tail(count: int, expected: float) -> float:
    """P(X >= count) for X ~ Poisson(expected), summed over the upper tail itself (1 minus
    the lower sum would lose the small chances that matter here to rounding)."""
    if count <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    if count <= expected:  # the lower sum is short and no small number is lost
        term = below = math.exp(-expected)
        for k in range(1, count):
            term *= expected / k
            below += term
        return max(0.0, 1.0 - below)
    term = math.exp(-expected + count * math.log(expected) - math.lgamma(count + 1))
    total, k = 0.0, count
    while term > total * 1e-17:
        total += term
        k += 1
        term *= expected / k
    return min(1.0, total)


def detect(seen: Iterable[Sighting], *, now: datetime, rule: Rule | None = None) -> list[HotSpot]:
    """The hot spots at `now`, the least likely first (then the most appeals, then the place)."""
    rule = rule or Rule()
    window_start, _ = rule.window(now)
    baseline_start, _ = rule.baseline(now)
    recent: dict[Place, list[Sighting]] = defaultdict(list)
    usual: dict[Place, int] = defaultdict(int)
    for s in seen:
        if not baseline_start <= s.time < now:
            continue
        places: list[Place] = [(s.category, s.district, None)]
        if s.cell is not None:
            places.append((s.category, s.district, s.cell))
        for place in places:
            if s.time >= window_start:
                recent[place].append(s)
            else:
                usual[place] += 1
    scale = rule.window_hours / (rule.baseline_days * 24)
    spots = []
    for (category, district, cell), found in recent.items():
        if len(found) < rule.min_count:
            continue
        expected = max(usual[(category, district, cell)] * scale, rule.min_expected)
        p_value = poisson_tail(len(found), expected)
        if p_value > rule.max_p_value:
            continue
        found.sort(key=lambda s: (s.time, str(s.appeal_id)))
        spots.append(
            HotSpot(
                category=category,
                district=district,
                cell=cell,
                window_start=window_start,
                window_end=now,
                count=len(found),
                baseline_count=usual[(category, district, cell)],
                expected=round(expected, 4),
                p_value=p_value,
                appeals=tuple(s.appeal_id for s in found),
                facts=tuple(s.fact_id for s in found),
            )
        )
    spots.sort(key=lambda h: (h.p_value, -h.count, h.category, h.district or "", h.cell or ""))
    return spots
