"""The loop around a durable timer's sweep, written once.

A sweep records whatever has come due at the time it is given, in the database, so a timer
keeps no schedule in memory: a restart or another replica simply sweeps again. Tests call
the sweep with their own clock; this loop calls it with the wall clock.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from shared.runtime import metrics, tracing
from shared.runtime.app import Runtime
from shared.runtime.eventstore import Database

log = logging.getLogger("hotline.timer")

Sweep = Callable[[Database, datetime], Awaitable[int]]


async def every(
    runtime: Runtime[Any],
    sweep: Sweep,
    *,
    interval_seconds: float,
    batch: int,
    name: str | None = None,
) -> None:
    """Sweep until the service stops; a full batch means a backlog, so sweep again at once.
    Each sweep is a span of its own and counted in hotline_timer_sweeps_total{timer=name}
    (by default the sweep's module, e.g. "dispatch_service.timer")."""
    timer = name or sweep.__module__
    service = runtime.settings.service_name
    while not runtime.stopping.is_set():
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
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runtime.stopping.wait(), interval_seconds)
