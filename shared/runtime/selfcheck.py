"""Each service checks its own event table, continuously and a bounded slice at a time.

A pass reads the next `batch` rows by id after the last pass's (wrapping to the start at the
end, so the whole table is checked again and again, old rows included) and, for every
stream those rows belong to, the whole stream: each row's bytes must hash to its `hash`,
its copied columns (`event_id`, `stream_id`, `version`, `type`, `prev_hash`) must equal what
the bytes say, and the stream must run 1..n with each fact naming its predecessor's hash
(`shared.chain`, the check audit runs).

The columns the bytes cannot hold are the outbox's bookkeeping, and no fact is derived from
them; each is still held to what it must be. `id` orders publication: within a stream it
must rise with the version (else the relay would publish a later fact first) and stay
within the id sequence (else a later append collides with it). `published_at` must not
precede `recorded_at`, and a stream's published rows must be the first versions (the relay
publishes in id order). `recorded_at` (the backlog's age) and `published_at` must not lie
in the future; `traceparent` (tracing only) must be W3C's form. Neither a plausible record
time nor another trace changes a fact, its order or its count. A mark forged on a fact the
relay never sent loses that fact downstream; audit reports it (a `gap`) once the stream's
next fact arrives. A break is logged with the stream and version, never
the content, and counted once per process in `hotline_chain_breaks_total`; the time of the
last pass is `hotline_chain_verified_timestamp_seconds`.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import chain
from shared.runtime import metrics, schema

log = logging.getLogger("hotline.selfcheck")
_COPIED = {"event_id": "id", "stream_id": "subject", "version": "version", "type": "type"}
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class Break:
    stream_id: UUID
    version: int
    problem: str


def _bookkeeping(row: Any, now: datetime | None) -> list[str]:
    """How the row's outbox columns hold what they cannot hold."""
    found = []
    if row.traceparent is not None and not TRACEPARENT.match(row.traceparent):
        found.append("column traceparent is not a W3C traceparent")
    if now is not None and row.recorded_at > now:
        found.append("column recorded_at lies in the future")
    if row.published_at is not None and (
        row.published_at < row.recorded_at or (now is not None and row.published_at > now)
    ):
        found.append("column published_at is before the row was recorded, or in the future")
    return found


def row_problems(row: Any, now: datetime | None = None) -> list[str]:
    """How one stored row disagrees with its own bytes (and its bookkeeping with itself)."""
    found = _bookkeeping(row, now)
    try:
        wire = json.loads(row.body)
    except ValueError:
        return ["stored bytes are not a fact"]
    if not isinstance(wire, dict):
        return ["stored bytes are not a fact"]
    found += [
        f"column {column} differs from the hashed bytes"
        for column, name in _COPIED.items()
        if str(getattr(row, column)) != str(wire.get(name))
    ]
    if row.prev_hash != wire.get("prev_hash"):
        found.append("column prev_hash differs from the hashed bytes")
    return found


def _appeal(row: Any) -> UUID:
    """The stream a row's bytes say it belongs to (its column may have been edited)."""
    try:
        return UUID(str(json.loads(row.body)["subject"]))
    except (ValueError, TypeError, KeyError):
        return UUID(str(row.stream_id))


def _order(ordered: list[Any], last_id: int | None) -> list[tuple[Any, str]]:
    found = []
    for before, after in itertools.pairwise(ordered):
        if after.id <= before.id:
            found.append((after, "column id is below an earlier version's: published out of order"))
        if after.published_at is not None and before.published_at is None:
            found.append((after, "published while an earlier version is not"))
    found += [
        (r, "column id is beyond the id sequence") for r in ordered
        if last_id is not None and r.id > last_id
    ]  # fmt: skip
    return found


def stream_breaks(
    stream_id: UUID, rows: Iterable[Any], *, now: datetime | None = None,
    last_id: int | None = None,
) -> list[Break]:  # fmt: skip
    ordered = sorted(rows, key=lambda r: r.version)
    links = [chain.Link(r.version, r.prev_hash, r.hash, r.body.encode()) for r in ordered]
    found = [Break(stream_id, 0, problem) for problem in chain.problems(links)]
    found += [Break(_appeal(r), r.version, p) for r in ordered for p in row_problems(r, now)]
    found += [Break(_appeal(r), r.version, p) for r, p in _order(ordered, last_id)]
    return found


async def verify_slice(conn: AsyncConnection, after_id: int, batch: int) -> tuple[int, list[Break]]:
    """Check the streams of the `batch` rows after `after_id`; returns where the next slice
    starts (0 once the table's end was reached) and the breaks found."""
    events = schema.events.c
    ids = await conn.execute(
        select(events.id, events.stream_id).where(events.id > after_id).order_by(events.id)
        .limit(batch)
    )  # fmt: skip
    found = list(ids)
    streams = {row.stream_id for row in found}
    breaks: list[Break] = []
    if streams:
        now = await conn.scalar(select(func.clock_timestamp()))
        last_id = await conn.scalar(
            text(
                "SELECT last_value FROM pg_sequences WHERE schemaname = current_schema() "
                "AND sequencename = 'events_id_seq'"
            )
        )
        rows = await conn.execute(select(schema.events).where(events.stream_id.in_(streams)))
        by_stream: dict[UUID, list[Any]] = {}
        for row in rows:
            by_stream.setdefault(row.stream_id, []).append(row)
        for stream_id in sorted(streams):
            # A stream_id edited away from every row leaves no row under it: that row is
            # found under the stream it now claims, whose chain it breaks.
            breaks += stream_breaks(
                stream_id, by_stream.get(stream_id, []), now=now, last_id=last_id
            )
    return (found[-1].id if len(found) == batch else 0), breaks


@dataclass
class SelfCheck:
    """The background task; `seen` keeps each break counted once per process."""

    service: str
    batch: int = 500
    cursor: int = 0
    seen: set[Break] = field(default_factory=set)

    async def run_pass(self, conn: AsyncConnection) -> list[Break]:
        self.cursor, breaks = await verify_slice(conn, self.cursor, self.batch)
        new = [b for b in breaks if b not in self.seen]
        for found in new:
            self.seen.add(found)
            metrics.CHAIN_BREAKS.labels(self.service).inc()
            log.error(
                "hash chain broken in own event table",
                extra={"stream_id": str(found.stream_id), "version": found.version,
                       "problem": found.problem},
            )  # fmt: skip
        metrics.CHAIN_VERIFIED_AT.labels(self.service).set(datetime.now(UTC).timestamp())
        return breaks

    async def run(self, runtime: Any, interval_seconds: float) -> None:
        while not runtime.stopping.is_set():
            try:
                async with runtime.engine.connect() as conn:
                    await self.run_pass(conn)
            except Exception:
                log.exception("chain self-check failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), interval_seconds)
