"""The loop around a durable timer's sweep, written once.

A sweep records whatever has come due at the time it is given, in the database, so a timer
keeps no schedule in memory: a restart or another replica simply sweeps again. Tests call
the sweep with their own clock; this loop calls it with the wall clock.

Across replicas a sweep must still fire each thing once. Two ways, chosen per timer:

- shared (the default): every replica sweeps and the sweep itself makes the race harmless.
  Dispatch's deadlines and feedback's rating windows lock due rows with SKIP LOCKED and
  append at the version they read, so a mark is recorded once whoever sweeps; feedback's
  deliveries lease their rows before sending.
- `exclusive="name"`: the loop runs on one replica at a time, elected by a session advisory
  lock as the outbox relay is, for a timer whose every firing is an effect of its own (audit's
  checkpoints: two replicas sweeping each interval would take two checkpoints per interval).
  A standby tries the lock every LOCK_RETRY_SECONDS and takes over when the holder stops or
  dies (its session ends with it).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.runtime import metrics, tracing
from shared.runtime.database import Database
from shared.runtime.running import Runtime

log = logging.getLogger("hotline.timer")

Sweep = Callable[[Database, datetime], Awaitable[int]]
LOCK_RETRY_SECONDS = 0.25


async def every(
    runtime: Runtime[Any],
    sweep: Sweep,
    *,
    interval_seconds: float,
    batch: int,
    name: str | None = None,
    exclusive: str | None = None,
) -> None:
    """Sweep until the service stops; a full batch means a backlog, so sweep again at once.
    With `exclusive`, only the replica holding that timer's lock sweeps. Each sweep is a span
    of its own and counted in hotline_timer_sweeps_total{timer=name} (by default the sweep's
    module, e.g. "dispatch_service.timer")."""
    timer = name or sweep.__module__
    if exclusive is None:
        await _sweep_until_stopped(
            runtime, sweep, timer=timer, interval_seconds=interval_seconds, batch=batch
        )
        return
    key = f"timer:{runtime.settings.service_name}:{exclusive}"
    while not runtime.stopping.is_set():
        try:
            async with runtime.engine.connect() as lock_conn:
                try:
                    if await _acquire(lock_conn, key, runtime.stopping):
                        log.info("timer role taken", extra={"timer": key})
                        await _sweep_until_stopped(
                            runtime,
                            sweep,
                            timer=timer,
                            interval_seconds=interval_seconds,
                            batch=batch,
                            alive=lambda: _still_held(lock_conn),
                        )
                finally:
                    # The lock is the session's: end the session rather than pool it.
                    await lock_conn.invalidate()
        except Exception:
            log.exception("timer election failed; retrying", extra={"timer": key})
            await _wait(runtime.stopping, 1.0)


async def _acquire(lock_conn: AsyncConnection, key: str, stopping: asyncio.Event) -> bool:
    try_lock = text("SELECT pg_try_advisory_lock(hashtext(:key))")
    while not (await lock_conn.execute(try_lock, {"key": key})).scalar_one():
        await lock_conn.commit()
        if await _wait(stopping, LOCK_RETRY_SECONDS):
            return False
    await lock_conn.commit()  # session-scoped: the lock outlives this commit
    return True


async def _still_held(lock_conn: AsyncConnection) -> None:
    await lock_conn.execute(text("SELECT 1"))  # a lost session means a lost lock: raises
    await lock_conn.commit()


async def _sweep_until_stopped(
    runtime: Runtime[Any],
    sweep: Sweep,
    *,
    timer: str,
    interval_seconds: float,
    batch: int,
    alive: Callable[[], Awaitable[None]] | None = None,
) -> None:
    service = runtime.settings.service_name
    while not runtime.stopping.is_set():
        if alive is not None:
            await alive()
        try:
            while True:
                with tracing.root_span("timer sweep", timer=timer):
                    fired = await sweep(runtime.db, datetime.now(UTC))
                metrics.TIMER_SWEEPS.labels(service, timer, "ok").inc()
                metrics.TIMER_FIRED.labels(service, timer).inc(fired)
                if fired < batch:
                    break
        except Exception:
            metrics.TIMER_SWEEPS.labels(service, timer, "failed").inc()
            log.exception("timer sweep failed; retrying", extra={"timer": timer})
        await _wait(runtime.stopping, interval_seconds)


async def _wait(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if stopping was requested meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
        return True
    return False
