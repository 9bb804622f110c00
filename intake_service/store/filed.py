"""A filing's SQL, written out once and run on the transaction's asyncpg connection
(`Tx.driver`): SQLAlchemy Core built and compiled these statements on every call, which cost
more CPU than everything else a filing does. The new appeal's row and what it may repeat;
the citizen's key and the Open311 feed are in `keys` and `updates`."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from intake_service.store.tables import OPEN_APPEAL
from shared import events
from shared.runtime.eventstore import Tx


def _jsonb(value: Any) -> str:
    # What the JSONB type's bind did (json.dumps, None included: JSON null, not SQL NULL),
    # by orjson: five of these per filing. The values are JSON-mode dumps already.
    return orjson.dumps(value).decode()


_ADD = """
    INSERT INTO appeals (id, received_at, channel, appeal_type, category, urgency, district,
        status, status_round, status_at, stages, received, key_id, extras, phone_index,
        address_index, classification, repeat_candidates)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"""


def _newest(way: str, limit: int) -> str:
    return f"""
    SELECT id, received_at FROM appeals
    WHERE received_at >= $1 AND {OPEN_APPEAL} AND {way}
    ORDER BY received_at DESC, id DESC LIMIT {limit}"""


@functools.cache
def _repeats_sql(*, phone: bool, address: bool, limit: int) -> str:
    """The search for the ways given (parameters: since, then the phone's, then the
    address's and category), its limit written in. With LIMIT a parameter, the prepared
    statement's generic plan was costed for a limit unknown and lost to custom plans, made
    again on most filings: more of PostgreSQL's CPU than running them (docs/benchmarks.md).
    Written in, the generic plan wins and is kept per connection."""
    ways = ["phone_index = $2"] if phone else []
    if address:
        n = len(ways) + 2
        ways.append(f"address_index = ${n} AND category = ${n + 1}")
    if len(ways) == 1:
        return _newest(ways[0], limit)
    # Each way on its own index of open appeals (store/tables.py), newest first, stopping
    # at the limit; then the newest of both. One WHERE with an OR fetched every appeal at
    # the address in the window before sorting: at a busy address (a burst main) that grew
    # with each filing.
    either = "\n        UNION\n".join(f"({_newest(way, limit)})" for way in ways)
    return f"""
    SELECT id, received_at FROM ({either}) AS either_way
    ORDER BY received_at DESC, id DESC LIMIT {limit}"""


@dataclass(frozen=True, slots=True)
class Description:
    """What filing knew beyond the fact: what the channel carried (Open311: partner,
    attributes, media_url), why the rules classified it so, the appeals it may repeat, and
    the blind indexes later appeals find it by."""

    extras: dict[str, Any] | None
    classification: dict[str, Any]
    repeat_candidates: Sequence[UUID]
    phone_index: str | None
    address_index: str | None

    def columns(self) -> dict[str, Any]:
        return {
            "extras": self.extras,
            "phone_index": self.phone_index,
            "address_index": self.address_index,
            "classification": self.classification,
            "repeat_candidates": [str(c) for c in self.repeat_candidates],
        }


async def add(
    tx: Tx,
    received: events.AppealReceived,
    *,
    progress: tuple[int, str, datetime] | None = None,
    stages: dict[str, str] | None = None,
    description: Description | None = None,
) -> None:
    """The appeal's row, as its appeal.received fact tells it; `progress` (round, status,
    since) and `stages` as the facts filed with it leave it, and filing's `description`,
    when the caller has them: then the row is written once."""
    await tx.driver.execute(_ADD, *_row(received, progress, stages, description))


def hold_new(
    tx: Tx,
    received: events.AppealReceived,
    *,
    progress: tuple[int, str, datetime],
    stages: dict[str, str],
    description: Description,
) -> None:
    """As `add`, held for the transaction's append (`Tx.hold`): a filing's new row, which
    nothing reads before the commit, rides in the round trip that records its facts."""
    tx.hold(_ADD, *_row(received, progress, stages, description))


def _row(
    received: events.AppealReceived,
    progress: tuple[int, str, datetime] | None,
    stages: dict[str, str] | None,
    description: Description | None,
) -> tuple[Any, ...]:
    round_, status, status_at = progress or (1, "received", received.time)
    described = {"repeat_candidates": []} if description is None else description.columns()
    return (
        received.subject,
        received.time,
        received.channel,
        received.appeal_type,
        received.category,
        received.urgency,
        received.location.district,
        status,
        round_,
        status_at,
        _jsonb(stages or {"received": received.time.isoformat()}),
        _jsonb(received.model_dump(mode="json")),
        getattr(received.personal_data, "key_id", None)
        or getattr(received.sealed_content, "key_id", None),
        _jsonb(described.get("extras")),
        described.get("phone_index"),
        described.get("address_index"),
        _jsonb(described.get("classification")),
        _jsonb(described["repeat_candidates"]),
    )


async def repeat_candidates(
    tx: Tx,
    *,
    phone_index: str | None,
    address_index: str | None,
    category: str,
    since: datetime,
    limit: int = 10,
) -> list[UUID]:
    """Open, unmerged appeals since `since` from the same phone, or at the same address in
    the same category (by blind index): what a new appeal may repeat. Newest first."""
    phone, address = bool(phone_index), bool(address_index)
    if not (phone or address):
        return []
    by = [phone_index] if phone else []  # in the order of _repeats_sql's parameters
    if address:
        by += [address_index, category]
    sql = _repeats_sql(phone=phone, address=address, limit=limit)
    return [row["id"] for row in await tx.driver.fetch(sql, since, *by)]
