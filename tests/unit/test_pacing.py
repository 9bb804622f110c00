"""The linger's schedule (shared.runtime.pacing.Linger), on a clock the test moves: quiet
takes the next pass at once, records at a steady rate hold the next pass for the linger,
a burst's rate for the busy linger, and the short one is back once the rate falls again.
The relay and the consume loop under it run on real PostgreSQL and Kafka in
tests/integration/test_pacing.py."""

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
    linger = pacing.Linger(0.005, busy_seconds=0.020)
    assert linger.due_in() == 0.0
    linger.found_work(2)
    assert linger.due_in() == pytest.approx(0.005)
    clock.now += 0.002
    assert linger.due_in() == pytest.approx(0.003)
    clock.now += 0.1  # quiet since: at once again
    assert linger.due_in() == 0.0


def _passes(linger: pacing.Linger, clock: Clock, *, rate: float, seconds: float) -> None:
    """Passes as the linger allows them while records arrive at `rate` per second."""
    end = clock.now + seconds
    while clock.now < end:
        wait = max(linger.due_in(), 0.001)
        clock.now += wait
        linger.found_work(max(1, round(rate * wait)))


def test_the_steady_rate_keeps_the_short_linger_though_a_pass_finds_several(
    clock: Clock,
) -> None:
    linger = pacing.Linger(0.005, busy_seconds=0.020)
    _passes(linger, clock, rate=pacing.BUSY_RATE / 2, seconds=1.0)
    assert linger.due_in() == pytest.approx(0.005)
    clock.now += 0.005
    linger.found_work(6)  # filings that committed together, not a burst
    assert linger.due_in() == pytest.approx(0.005)


def test_a_burst_lingers_longer_until_the_rate_falls_again(clock: Clock) -> None:
    linger = pacing.Linger(0.005, busy_seconds=0.020)
    _passes(linger, clock, rate=pacing.BUSY_RATE * 3, seconds=0.5)
    assert linger.rate > pacing.BUSY_RATE
    assert linger.due_in() == pytest.approx(0.020)
    _passes(linger, clock, rate=pacing.BUSY_RATE / 4, seconds=0.5)
    assert linger.rate < pacing.BUSY_RATE
    assert linger.due_in() == pytest.approx(0.005)


def test_without_a_busy_linger_a_burst_keeps_the_linger(clock: Clock) -> None:
    linger = pacing.Linger(0.050)
    linger.found_work(500)
    assert linger.due_in() == pytest.approx(0.050)
    assert pacing.Linger(0.050, busy_seconds=0.010).busy_seconds == 0.050  # never shorter
