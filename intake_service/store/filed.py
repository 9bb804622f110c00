"""A filing's SQL, written out once and run on the transaction's asyncpg connection
(`Tx.driver`): SQLAlchemy Core built and compiled these statements on every call, which cost
more CPU than everything else a filing does. The new appeal's row and what it may repeat;
the citizen's key and the Open311 feed are in `keys` and `updates`."""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from intake_service.store.tables import OPEN_APPEAL
from shared import events
from shared.runtime.eventstore import Tx
from shared.runtime.held import Answer


def _jsonb(value: Any) -> str:
    # What the JSONB type's bind did (json.dumps, None included: JSON null, not SQL NULL),
    # by orjson: five of these per filing. The values are JSON-mode dumps already.
    return orjson.dumps(value).decode()


_INSERT = """
    INSERT INTO appeals (id, received_at, channel, appeal_type, category, urgency, district,
        status, status_round, status_at, stages, received, key_id, extras, phone_index,
        address_index, classification, repeat_candidates)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"""
_ADD = f"{_INSERT} $18)"
# The repeat candidates' parameters follow the row's 17 others in a filing's insert.
_FIRST_SEARCH_PARAMETER = 18
# A row's last five columns when no filing described it (extras to repeat candidates).
_NOT_DESCRIBED = (_jsonb(None), None, None, _jsonb(None), _jsonb([]))
_FOUND = "intake.repeats_found"  # Tx.memo: what a new appeal's held row found


def _newest(way: str, since: str, limit: int) -> str:
    return f"""
    SELECT id, received_at FROM appeals
    WHERE received_at >= {since} AND {OPEN_APPEAL} AND {way}
    ORDER BY received_at DESC, id DESC LIMIT {limit}"""


@functools.cache
def _repeats_sql(*, phone: bool, address: bool, limit: int, first: int = 1) -> str:
    """The search for the ways given (parameters from `first`: since, then the phone's,
    then the address's and category), its limit written in. With LIMIT a parameter, the
    prepared statement's generic plan was costed for a limit unknown and lost to custom
    plans, made again on most filings: more of PostgreSQL's CPU than running them
    (docs/benchmarks.md). Written in, the generic plan wins and is kept per connection."""
    since = f"${first}"
    ways = [f"phone_index = ${first + 1}"] if phone else []
    if address:
        n = first + 1 + len(ways)
        ways.append(f"address_index = ${n} AND category = ${n + 1}")
    if len(ways) == 1:
        return _newest(ways[0], since, limit)
    # Each way on its own index of open appeals (store/tables.py), newest first, stopping
    # at the limit; then the newest of both. One WHERE with an OR fetched every appeal at
    # the address in the window before sorting: at a busy address (a burst main) that grew
    # with each filing.
    either = "\n        UNION\n".join(f"({_newest(way, since, limit)})" for way in ways)
    return f"""
    SELECT id, received_at FROM ({either}) AS either_way
    ORDER BY received_at DESC, id DESC LIMIT {limit}"""


@dataclass(frozen=True, slots=True)
class RepeatSearch:
    """What a new appeal may repeat: open, unmerged appeals since `since` from the same
    phone, or at the same address in the same category (by blind index), newest first."""

    phone_index: str | None
    address_index: str | None
    category: str
    since: datetime
    limit: int = 10

    def statement(self, first: int = 1) -> str | None:
        """The search, its parameters numbered from `first`; None when there is no way to
        search (no phone, no address)."""
        phone, address = bool(self.phone_index), bool(self.address_index)
        if not (phone or address):
            return None
        return _repeats_sql(phone=phone, address=address, limit=self.limit, first=first)

    def args(self) -> tuple[Any, ...]:
        by = [self.phone_index] if self.phone_index else []  # in the statement's order
        if self.address_index:
            by += [self.address_index, self.category]
        return (self.since, *by)


@functools.cache
def _add_searching(search: str) -> str:
    """The new row's insert that finds its repeat candidates itself and returns them: in the
    append's statement, after the citizen's key was locked, so a filing from the same phone
    that committed while this one waited for the lock is among them."""
    return f"""{_INSERT} (
        SELECT coalesce(jsonb_agg(found.id ORDER BY found.received_at DESC, found.id DESC),
            '[]')
        FROM ({search}) AS found))
    RETURNING repeat_candidates"""


@dataclass(frozen=True, slots=True)
class Description:
    """What filing knew beyond the fact: what the channel carried (Open311: partner,
    attributes, media_url), why the rules classified it so, and the search for the appeals
    it may repeat, which its row runs; the search's blind indexes are the row's too, by
    which later appeals find this one."""

    extras: dict[str, Any] | None
    classification: dict[str, Any]
    repeats: RepeatSearch

    def columns(self) -> tuple[Any, ...]:
        """In the order of the row's last four columns before its repeat candidates."""
        return (
            _jsonb(self.extras),
            self.repeats.phone_index,
            self.repeats.address_index,
            _jsonb(self.classification),
        )


async def add(tx: Tx, received: events.AppealReceived) -> None:
    """The appeal's row, as its appeal.received fact alone tells it (no filing's description)."""
    row = _row(received, (1, "received", received.time), {"received": received.time.isoformat()})
    await tx.driver.execute(_ADD, *row, *_NOT_DESCRIBED)


def hold_new(
    tx: Tx,
    received: events.AppealReceived,
    *,
    progress: tuple[int, str, datetime],
    stages: dict[str, str],
    description: Description,
) -> None:
    """A filing's new row, with the status its facts leave it at and filing's description,
    held for the transaction's append (`Tx.hold`): nothing reads it before the commit, so it
    rides in the round trip that records its facts, and so does the search for the appeals
    it may repeat (`repeats_found` reads them once the append ran)."""
    row = (*_row(received, progress, stages), *description.columns())
    search = description.repeats.statement(first=_FIRST_SEARCH_PARAMETER)
    if search is None:  # nothing to search by: none found
        tx.hold(_ADD, *row, _jsonb([]))
        found = Answer()
        found.give([])
    else:
        found = tx.hold_answered(_add_searching(search), *row, *description.repeats.args())
    tx.memo[f"{_FOUND}:{received.subject}"] = found


def repeats_found(tx: Tx, appeal_id: UUID) -> list[UUID]:
    """The repeat candidates the new appeal's row found (`hold_new`), newest first."""
    found: Answer = tx.memo[f"{_FOUND}:{appeal_id}"]
    return [UUID(each) for each in found.value]  # JSONB, decoded by the connection's codec


def _row(
    received: events.AppealReceived, progress: tuple[int, str, datetime], stages: dict[str, str]
) -> tuple[Any, ...]:
    round_, status, status_at = progress
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
        _jsonb(stages),
        _jsonb(received.model_dump(mode="json")),
        getattr(received.personal_data, "key_id", None)
        or getattr(received.sealed_content, "key_id", None),
    )
