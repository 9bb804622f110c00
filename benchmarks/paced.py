"""POST to assignment visible, at a steady rate (open loop).

Appeals are sent on a fixed schedule (the i-th at start + i/rate) whatever the answers do,
and each latency runs from its scheduled time, so a stall shows as latency instead of as a
slower sender (no coordinated omission). Visibility is watched in dispatch's database, not
by polling its API per appeal: dispatch commits the work order with its appeal.assigned fact
and that commit's NOTIFY (the outbox's wake-up) makes the watcher look at once, so the
moment observed is the commit that makes `GET /v1/work-orders/{id}` answer 200.
"""

import asyncio
import contextlib
import statistics
import time
import uuid
from typing import Any

import asyncpg

from benchmarks.client import Pool, another_citizen
from shared.runtime.eventstore import OUTBOX_CHANNEL

FALLBACK_POLL_SECONDS = 0.05
SETTLE_SECONDS = 30


def quantiles_ms(samples: list[float]) -> dict[str, float]:
    if len(samples) < 2:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    cuts = statistics.quantiles(samples, n=100)
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


class AssignmentWatcher:
    """When each appeal's appeal.assigned commits in dispatch's database.

    Each wake-up reads only the assignments recorded since the last one (by the events
    table's id), so the watcher's cost stays per assignment however far behind the system
    is; an id committed out of order is caught by the lookup of what is still pending when
    the run settles."""

    def __init__(self, dispatch_dsn: str) -> None:
        self._dsn = dispatch_dsn
        self.pending: dict[uuid.UUID, float] = {}  # appeal id -> scheduled send time
        self.latencies: list[float] = []
        self._unclaimed: dict[uuid.UUID, float] = {}  # assigned before its POST answered
        self._after = 0  # the last events.id read
        self._wake = asyncio.Event()
        self._closing = False
        self._reading = asyncio.Lock()  # one query at a time on the connection
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "AssignmentWatcher":
        self._conn = await asyncpg.connect(self._dsn)
        await self._conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
        self._after = await self._conn.fetchval("SELECT coalesce(max(id), 0) FROM events")
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *_: object) -> None:
        # Told to stop, not cancelled: 3.11's wait_for can swallow a cancellation that
        # arrives as its wait completes, and the run then hung here.
        assert self._task is not None
        self._closing = True
        self._wake.set()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._conn.close()

    async def settled(self, seconds: float) -> None:
        """Until nothing is pending, or `seconds` have passed."""
        deadline = time.perf_counter() + seconds
        while self.pending and time.perf_counter() < deadline:
            await asyncio.sleep(FALLBACK_POLL_SECONDS)
            async with self._reading:
                rows = await self._conn.fetch(
                    "SELECT stream_id FROM events"
                    " WHERE type = 'appeal.assigned' AND stream_id = ANY($1::uuid[])",
                    list(self.pending),
                )
            self._seen([row["stream_id"] for row in rows], time.perf_counter())

    def expect(self, appeal_id: uuid.UUID, scheduled: float) -> None:
        seen = self._unclaimed.pop(appeal_id, None)
        if seen is None:
            self.pending[appeal_id] = scheduled
        else:
            self.latencies.append(seen - scheduled)

    def _seen(self, appeal_ids: list[uuid.UUID], seen: float) -> None:
        for appeal_id in appeal_ids:
            scheduled = self.pending.pop(appeal_id, None)
            if scheduled is None:
                self._unclaimed[appeal_id] = seen
            else:
                self.latencies.append(seen - scheduled)

    async def _watch(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FALLBACK_POLL_SECONDS):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            async with self._reading:
                rows = await self._conn.fetch(
                    "SELECT id, stream_id FROM events"
                    " WHERE id > $1 AND type = 'appeal.assigned' ORDER BY id",
                    self._after,
                )
            if rows:
                self._after = rows[-1]["id"]
                self._seen([row["stream_id"] for row in rows], time.perf_counter())


async def post_to_assignment(
    intake_url: str,
    dispatch_dsn: str,
    *,
    headers: dict[str, str],
    appeal: dict[str, Any],
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    pool = Pool(intake_url)
    errors: list[str] = []
    post_times: list[float] = []
    count = int(rate * seconds)

    async with AssignmentWatcher(dispatch_dsn) as watcher:

        async def send(scheduled: float) -> None:
            try:
                answer = await pool.request(
                    "POST", "/v1/appeals", headers=headers, body=another_citizen(appeal)
                )
            except (OSError, EOFError, TimeoutError) as exc:  # EOF: closed unanswered
                errors.append(repr(exc))
                return
            post_times.append(time.perf_counter() - scheduled)
            if answer.status != 201:
                errors.append(f"{answer.status} {answer.body[:200]!r}")
                return
            watcher.expect(uuid.UUID(answer.json()["id"]), scheduled)

        sends: list[asyncio.Task[None]] = []
        start = time.perf_counter() + 0.1
        late = 0
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                late += 1  # the sender itself fell behind its schedule by > 10 ms
            sends.append(asyncio.create_task(send(scheduled)))
        await asyncio.gather(*sends)
        sent_seconds = time.perf_counter() - start
        await watcher.settled(SETTLE_SECONDS)
        errors += [f"{key} not assigned in {SETTLE_SECONDS} s" for key in watcher.pending]
        latencies = watcher.latencies
    pool.close()
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "sent": count,
        "sent_per_s": round(count / sent_seconds, 1),
        "sender_late_over_10ms": late,
        "connections": pool.opened,
        "assigned": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        **quantiles_ms(latencies),
        "post": quantiles_ms(post_times),
    }
