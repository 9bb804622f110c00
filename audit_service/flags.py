"""Every flagged appeal, computed once per state of the fact store instead of on every call.

Flags are a pure function of the recorded facts, which only grow (the runtime role may only
append; a replay's switch-over or an owner's edit changes the count or the highest `seq`
too, barring an edit that keeps both, which the self-check reports as a finding anyway). So
the scan over all facts runs again only when `(count, max seq)` moved since the last one.
One cache per process: replicas each keep their own.
"""

import asyncio
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import domain, store, views
from audit_service.domain import closures, gaming, signals
from audit_service.store.tables import facts

Kind = Literal["buck_passing", "gaming", "closure"]


@dataclass(frozen=True)
class Flagged:
    appeal_id: UUID
    kinds: tuple[Kind, ...]
    bounced: views.BuckPassing
    gamed: views.Gaming
    closed: views.Closure


_cache: tuple[tuple[int, int | None], list[Flagged]] | None = None
_lock = asyncio.Lock()


async def flagged(engine: AsyncEngine) -> list[Flagged]:
    global _cache
    async with _lock:
        async with engine.connect() as conn:
            row = (await conn.execute(select(func.count(), func.max(facts.c.seq)))).one()
            state = (int(row[0]), row[1])
            if _cache is not None and _cache[0] == state:
                return _cache[1]
            found: list[Flagged] = []
            async for appeal_id, recorded in store.facts_by_appeal(conn, None):
                ordered = domain.timeline(recorded)
                bounced, gamed = signals.buck_passing(ordered), gaming.gaming(ordered)
                closed = closures.closure(ordered)
                kinds: list[Kind] = []
                if bounced.flagged:
                    kinds.append("buck_passing")
                if gamed.flagged:
                    kinds.append("gaming")
                if closed.flagged:
                    kinds.append("closure")
                if kinds:
                    found.append(
                        Flagged(
                            appeal_id,
                            tuple(kinds),
                            views.BuckPassing.model_validate(bounced),
                            views.Gaming.model_validate(gamed),
                            views.Closure.model_validate(closed),
                        )
                    )
        _cache = (state, found)
        return found
