"""The appeals that arrived in an interval: their receipt facts and any reclassification,
what hot-spot detection reads (domain/hotspots.py). Read through the facts' time index."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.domain import Fact
from audit_service.store.facts import to_fact
from audit_service.store.tables import facts

_READ = ("appeal.received", "appeal.classified")


async def arrivals(conn: AsyncConnection, start: datetime, end: datetime) -> list[Fact]:
    """`appeal.received` facts that happened in [start, end), with the `appeal.classified`
    facts of the same appeals up to `end`."""
    arrived = select(facts.c.subject).where(
        facts.c.type == "appeal.received", facts.c.time >= start, facts.c.time < end
    )
    rows = await conn.execute(
        select(*(facts.c[name] for name in Fact.__slots__)).where(
            facts.c.type.in_(_READ), facts.c.time < end, facts.c.subject.in_(arrived)
        )
    )
    return [to_fact(dict(row._mapping)) for row in rows]
