"""Exports of every recorded fact as JSON Lines or CSV, streamed from a server-side cursor:
memory stays flat however long the history is (the citizens' keys asked of intake on the
way are kept for the one export, a key each)."""

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import personal, sealing, store
from audit_service.domain import records

COLUMNS = (
    "seq",
    "event_id",
    "type",
    "source",
    "subject",
    "version",
    "time",
    "actor",
    "causation_id",
    "hash",
    "prev_hash",
    "ingested_at",
    "problems",
)


@dataclass(frozen=True, slots=True)
class Shown:
    """How an export shows a fact's data: opened (audit:personal-data) or masked."""

    keys: personal.KeyCache
    opened: bool
    names: dict[UUID, str | None] = field(default_factory=dict)  # per citizen's key
    citizens: dict[str, set[UUID]] = field(default_factory=dict)  # an appeal's keys so far

    async def __call__(self, data: dict[str, Any], subject: str) -> dict[str, Any]:
        if self.opened:
            return personal.opened([data], await self.keys.keys([data]))[0]
        citizen = self.citizens.setdefault(subject, set())
        citizen |= personal.key_ids([data])
        # The appeal's keys met before too: a reply row holds none, and is judged erased or
        # not by its receipt's key, which may have been dropped from the cache since.
        keys = await self.keys.keys([data], also=citizen)
        return personal.masked([data], keys, self.names, citizen)[0]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def _record(row: Any, shown: Shown) -> dict[str, Any]:
    """The row as its bytes and audit's seal prove it (domain/records.py), with anything
    they do not prove named under `problems`."""
    fact = records.from_row(row._mapping, sealing.key())
    record = {name: _plain(getattr(fact, name, None)) for name in COLUMNS}
    record["seq"], record["ingested_at"] = row.seq, _plain(row.ingested_at)
    record["problems"] = "; ".join(fact.problems)
    wire = json.loads(row.body) if "stored bytes are not a fact" not in fact.problems else {}
    data = wire.get("data") if isinstance(wire, dict) else None
    record["data"] = await shown(data if isinstance(data, dict) else {}, str(fact.subject))
    return record


async def json_lines(engine: AsyncEngine, shown: Shown) -> AsyncIterator[bytes]:
    async for row in store.recorded_facts(engine):
        yield (json.dumps(await _record(row, shown), ensure_ascii=False) + "\n").encode()


async def csv_lines(engine: AsyncEngine, shown: Shown) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*COLUMNS, "data"])
    async for row in store.recorded_facts(engine):
        record = await _record(row, shown)
        writer.writerow(
            [*(record[c] for c in COLUMNS), json.dumps(record["data"], ensure_ascii=False)]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
