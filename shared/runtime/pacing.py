"""How often the relay and the consume loop take a pass, and how often offsets are committed.

Every pass has a fixed price besides its records: the relay's claim and mark, a consume
batch's transaction with its handful of statements, a produce or fetch request, an offset
commit. At a steady trickle (a record every few milliseconds) each pass carries a record or
two, so the fixed price is most of the work. `Linger` bounds the passes to one per
`seconds` while work keeps coming, and takes the first after a quiet spell at once: an idle
path pays no wait, a busy one waits at most `seconds` and pays the fixed price once for
what arrived meanwhile. A lingering consume loop's fetches are held by the broker as long
(`shared.runtime.kafka.consumer`), so there a record after quiet may wait that much at the
broker: the loops that linger long are off the way from a filing to its assignment
(intake's relay, on it, lingers 5 ms; dispatch's consume loop not at all).
A linger may have a longer `busy_seconds` (intake's relay: 20 ms), taken while records
arrive faster than BUSY_RATE, their rate smoothed over RATE_SECONDS. In a burst each record
waits on the queue before its pass anyway, and a longer linger gathers more per pass; at the
steady rate the short linger is sized for (100 filings/s), it is kept. A rate, not a
pass's count, tells the two apart: at 100/s a 5 ms pass now and then finds the facts of
several filings that committed together, and a count that low would take those for a burst.
`OffsetCommits` moves a consumer's offsets at most once per
COMMIT_SECONDS, and as soon as the loop runs out of records: the inbox already skips a
record delivered twice, so a later commit costs at most a re-read after a crash or a
rebalance, never a second application.
"""

import asyncio
import math
import time
from typing import Any

from aiokafka import TopicPartition

COMMIT_SECONDS = 1.0
# Records/s; faster is a burst. Twice the steady rate the short linger serves: 100 filings/s,
# two facts each (received and forwarded).
BUSY_RATE = 400.0
RATE_SECONDS = 0.1  # how long a pass's records weigh in the rate (an exponential average)


class Linger:
    """At most one pass per `seconds` while work keeps coming (per `busy_seconds` while it
    comes faster than BUSY_RATE records/s); none held back after quiet."""

    def __init__(self, seconds: float, busy_seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.busy_seconds = max(seconds, busy_seconds)  # never shorter: 0 is no busy linger
        self.rate = 0.0  # records/s found by recent passes, decaying over RATE_SECONDS
        self._last = -float("inf")  # when the last pass that found work began
        self._next = seconds  # the linger after that pass

    def due_in(self) -> float:
        """Seconds until the next pass may begin (0: at once)."""
        return max(0.0, self._last + self._next - time.monotonic())

    async def until_due(self, stop: "asyncio.Future[Any]") -> None:
        """Wait until the next pass may begin: at once when quiet or when `stop` is done."""
        wait = self.due_in()
        if wait > 0 and not stop.done():
            await asyncio.wait({stop}, timeout=wait)

    def found_work(self, records: int = 1) -> None:
        """A pass that found work (`records` of it) begins now."""
        now = time.monotonic()
        # Each pass adds its records over RATE_SECONDS, and what came before fades by
        # e^(-elapsed/RATE_SECONDS): records arriving at r per second hold the rate near r.
        self.rate = self.rate * math.exp((self._last - now) / RATE_SECONDS)
        self.rate += records / RATE_SECONDS
        self._last = now
        self._next = self.busy_seconds if self.rate > BUSY_RATE else self.seconds


class OffsetCommits:
    """The offsets a consumer has applied but not yet committed, and when to commit them."""

    def __init__(self, seconds: float = COMMIT_SECONDS) -> None:
        self.seconds = seconds
        self.pending: dict[TopicPartition, int] = {}
        self._since: float | None = None  # when the oldest pending offset was applied

    def applied(self, offsets: dict[TopicPartition, int]) -> None:
        """These offsets' records are committed in PostgreSQL (call only after that)."""
        self.pending |= offsets
        if self._since is None:
            self._since = time.monotonic()

    def due_in(self) -> float | None:
        """Seconds until the pending offsets must be committed; None if nothing pends."""
        if self._since is None:
            return None
        return max(0.0, self._since + self.seconds - time.monotonic())

    def take(self) -> dict[TopicPartition, int]:
        """The offsets to commit now, no longer pending."""
        taken, self.pending, self._since = self.pending, {}, None
        return taken

    def keep(self, partitions: set[TopicPartition]) -> None:
        """Only the partitions this member still holds: a new owner reads the rest again."""
        self.pending = {tp: offset for tp, offset in self.pending.items() if tp in partitions}
        if not self.pending:
            self._since = None
