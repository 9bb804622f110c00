"""The linger's schedule (shared.runtime.pacing.Linger), on a clock the test moves: quiet
takes the next pass at once, a pass that found a record or two holds the next for the
linger, one that found more (a burst's) for the busy linger, and the short one is back as
soon as a pass finds little again. The relay and the consume loop under it run on real
PostgreSQL and Kafka in tests/integration/test_pacing.py."""

import time

import pytest

from shared.runtime import pacing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    return clock


def test_a_pass_after_quiet_is_due_at_once_and_the_next_after_the_linger(clock: Clock) -> None:
    linger = pacing.Linger(0.010, busy_seconds=0.020)
    assert linger.due_in() == 0.0
    linger.found_work(pacing.BUSY_RECORDS)
    assert linger.due_in() == pytest.approx(0.010)
    clock.now += 0.004
    assert linger.due_in() == pytest.approx(0.006)
    clock.now += 0.1  # quiet since: at once again
    assert linger.due_in() == 0.0


def test_a_burst_lingers_longer_until_a_pass_finds_little_again(clock: Clock) -> None:
    linger = pacing.Linger(0.010, busy_seconds=0.020)
    linger.found_work(pacing.BUSY_RECORDS + 1)
    assert linger.due_in() == pytest.approx(0.020)
    clock.now += 0.020
    linger.found_work(40)
    assert linger.due_in() == pytest.approx(0.020)
    clock.now += 0.020
    linger.found_work(1)
    assert linger.due_in() == pytest.approx(0.010)


def test_without_a_busy_linger_a_burst_keeps_the_linger(clock: Clock) -> None:
    linger = pacing.Linger(0.050)
    linger.found_work(500)
    assert linger.due_in() == pytest.approx(0.050)
    assert pacing.Linger(0.050, busy_seconds=0.010).busy_seconds == 0.050  # never shorter
