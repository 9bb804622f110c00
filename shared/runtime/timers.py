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

from shared.runtime.app import Runtime
from shared.runtime.eventstore import Database

log = logging.getLogger("hotline.timer")

Sweep = Callable[[Database, datetime], Awaitable[int]]


async def every(
    runtime: Runtime[Any], sweep: Sweep, *, interval_seconds: float, batch: int
) -> None:
    """Sweep until the service stops; a full batch means a backlog, so sweep again at once."""
    while not runtime.stopping.is_set():
        try:
            while await sweep(runtime.db, datetime.now(UTC)) >= batch:
                pass
        except Exception:
            log.exception("timer sweep failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runtime.stopping.wait(), interval_seconds)
