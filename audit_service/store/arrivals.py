"""The appeals that arrived in an interval: their receipt facts and any reclassification,
what hot-spot detection reads (domain/hotspots.py). Read through the facts' time index; each
fact is read from its stored bytes, as everywhere in audit (domain/records.py)."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service import sealing
from audit_service.domain import Fact, records
from audit_service.store.tables import facts

_READ = ("appeal.received", "appeal.classified")


async def arrivals(conn: AsyncConnection, start: datetime, end: datetime) -> list[Fact]:
    """`appeal.received` facts that happened in [start, end), with the `appeal.classified`
    facts of the same appeals up to `end`."""
    arrived = select(facts.c.subject).where(
        facts.c.type == "appeal.received", facts.c.time >= start, facts.c.time < end
    )
    rows = await conn.execute(
        select(facts).where(
            facts.c.type.in_(_READ), facts.c.time < end, facts.c.subject.in_(arrived)
        )
    )
    # The columns only find the rows; what is counted is read from the hashed bytes.
    return [records.from_row(row._mapping, sealing.key()) for row in rows]
