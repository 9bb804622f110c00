"""Hot spots: a scripted surge against a quiet baseline, and the quiet cases that are not one."""

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from audit_service import domain
from audit_service.domain import hotspots
from shared import events
from tests.unit import factories

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NEAR = (39.9012, 116.4011)  # one ~500 m cell
FAR = (39.9512, 116.3511)  # another cell in the same district


def _received(
    hours_ago: float,
    *,
    category: str = "environment.noise",
    district: str | None = "east",
    at: tuple[float, float] | None = NEAR,
) -> events.AppealReceived:
    fact = factories.received(
        category=category, district=district, at=NOW - timedelta(hours=hours_ago)
    )
    location = events.Place(
        district=district,
        lat=at[0] if at else None,
        long=at[1] if at else None,
    )
    return fact.model_copy(update={"location": location})


def _quiet_month() -> list[events.Event]:
    """A usual month: one noise appeal in east every second day, anywhere in the district."""
    days = range(0, 28, 2)
    return [_received(24 * day + 30, at=FAR if n % 2 else NEAR) for n, day in enumerate(days)]


def _detect(history: Sequence[events.Event], **rule: float) -> list[hotspots.HotSpot]:
    seen = hotspots.sightings(factories.audit_facts(history))
    return hotspots.detect(seen, now=NOW, rule=hotspots.Rule(**rule))  # type: ignore[arg-type]


def test_a_burst_in_one_district_is_a_hot_spot_with_the_appeals_behind_it() -> None:
    burst = [_received(hours) for hours in (0.5, 1, 2, 3, 4, 5)]
    spots = _detect([*_quiet_month(), *burst])
    by_place = {(s.district, s.cell): s for s in spots}
    district = by_place[("east", None)]
    assert (district.count, district.baseline_count) == (6, 14)
    assert district.expected == 0.125  # 14 in 28 days is 0.125 in 6 hours
    assert district.p_value < 1e-8
    assert set(district.appeals) == {b.subject for b in burst}
    assert set(district.facts) == {b.id for b in burst}
    assert (district.window_start, district.window_end) == (NOW - timedelta(hours=6), NOW)
    # The same burst is also listed at its ~500 m cell, where the baseline is quieter still.
    cell = by_place[("east", "39.900,116.400")]
    assert (cell.count, cell.baseline_count) == (6, 7)
    assert cell.p_value < district.p_value
    assert spots[0] == cell  # the least likely first


def test_a_quiet_baseline_alone_has_no_hot_spot() -> None:
    assert _detect(_quiet_month()) == []


def test_a_place_that_always_calls_this_much_is_not_a_hot_spot() -> None:
    # A busy place: six an hour... about 36 in every 6 hours, week after week.
    busy = [_received(h / 6 + 6.01) for h in range(6 * 24 * 28)]
    now = [_received(h) for h in (0.5, 1, 2, 3, 4, 5)]
    assert _detect([*busy, *now]) == []


def test_too_few_appeals_are_never_a_hot_spot_even_where_nobody_called_before() -> None:
    assert _detect([_received(h) for h in (1, 2, 3, 4)]) == []
    [spot, _cell] = _detect([_received(h) for h in (1, 2, 3, 4, 5)])
    assert (spot.count, spot.baseline_count, spot.expected) == (5, 0, 0.1)  # the floor


def test_a_burst_spread_over_categories_or_districts_is_not_one() -> None:
    spread = [
        _received(1, category="environment.noise"),
        _received(2, category="water.outage"),
        _received(3, category="traffic.parking"),
        _received(1, district="west"),
        _received(2, district="west"),
        _received(3, district="north"),
    ]
    assert _detect(spread) == []


def test_appeals_without_coordinates_count_for_their_district_only() -> None:
    # Coordinates absent (or encrypted, unreadable to audit): the district still places them.
    burst = [_received(h, at=None) for h in (0.5, 1, 2, 3, 4)]
    [spot] = _detect(burst)
    assert (spot.district, spot.cell, spot.count) == ("east", None, 5)


def test_appeals_outside_the_window_or_in_the_future_do_not_count() -> None:
    late = [_received(-1 - h) for h in range(5)]  # after `now`: not yet known then
    early = [_received(6.5 + h / 10) for h in range(5)]  # just before the window
    assert _detect([*late, *early]) == []


def test_a_reclassified_appeal_counts_under_its_new_category() -> None:
    burst = [_received(h, category="environment.air", at=None) for h in (0.5, 1, 2, 3, 4)]
    fixed = [
        events.AppealClassified(
            id=uuid4(),
            subject=r.subject,
            time=r.time + timedelta(minutes=5),
            actor="operator:li",
            correlation_id=r.correlation_id,
            causation_id=r.id,
            category="environment.noise",
            appeal_type="complaint",
            urgency="normal",
            previous_category="environment.air",
            reason="是噪声",
        )
        for r in burst
    ]
    [spot] = _detect([*burst, *fixed])
    assert spot.category == "environment.noise"


@pytest.mark.parametrize(("count", "expected"), [(0, 0.5), (1, 0.5), (3, 2.0), (6, 0.125)])
def test_the_poisson_tail_matches_its_definition(count: int, expected: float) -> None:
    below = sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(count))
    assert hotspots.poisson_tail(count, expected) == pytest.approx(1 - below, rel=1e-9)


def test_the_timeline_order_does_not_change_the_answer() -> None:
    history = [*_quiet_month(), *(_received(h) for h in (0.5, 1, 2, 3, 4, 5))]
    facts = factories.audit_facts(history)
    forward = hotspots.detect(hotspots.sightings(facts), now=NOW)
    backward = hotspots.detect(hotspots.sightings(list(reversed(facts))), now=NOW)
    assert forward == backward
    assert domain.timeline(facts)  # the facts are well formed


def test_a_moment_at_the_start_of_time_has_no_baseline_and_no_error() -> None:
    start = datetime(1, 1, 1, 3, tzinfo=UTC)
    assert hotspots.Rule().baseline(start)[0] == datetime.min.replace(tzinfo=UTC)
    assert hotspots.detect([], now=start) == []
