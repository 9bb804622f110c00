"""The checks of every live row that run beside a replay's pass over the log (in_place.py),
on the same snapshot: what `comparison.compare_in_place` finds by reading each row's bytes
back, found here at a fraction of the cost, or None where these checks cannot vouch for the
store and that comparison must decide.

- Each row: its bytes hash to its hash, it is a fact this code knows from its source's
  topic, and its row seal (domain/records.row_seals), made when audit recorded it, holds for
  its columns as they are now. Audit's key never reaches the database: PostgreSQL keeps the
  SHA-256 of each row's seal message (`row_digest`, a generated column, so always that of
  the row as it is), and this module computes the MAC over it. A row recorded before row
  seals has none, and these checks then leave the decision to the comparison.
- Each appeal: its chains and its digest, worked out by PostgreSQL from the columns the
  seals vouch for (store/in_place.py), or by the domain code, as the comparison does, for the
  first broken chains listed and for an appeal whose causes SQL cannot place.
"""

import asyncio
import hmac
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from audit_service import comparison, domain, sealing, store
from audit_service.domain import records
from shared import events, topics

log = logging.getLogger("hotline.audit.replay")


def _kinds() -> list[tuple[str, str, str]]:
    """(type, source, topic) of every fact this code knows."""
    return [
        (name, model.source, topics.BY_SOURCE[model.source])
        for name, model in events.EVENT_TYPES.items()
        if model.source in topics.BY_SOURCE
    ]


async def report(
    conns: Sequence[Any], end_offsets: dict[str, int]
) -> tuple[int, dict[str, Any]] | None:
    """The rows below the end offsets and `comparison.compare_in_place`'s report on them,
    or None where a row is not vouched for by its row seal. `conns`: three connections on
    one snapshot."""
    rows_side, appeals_side, odd_side = conns
    ends = store.ends_of(end_offsets)
    failed: list[Exception] = []
    try:  # the first to fail stops the other: both connections are done with on return
        async with asyncio.TaskGroup() as checks:
            sealed = checks.create_task(_sealed_rows(rows_side, ends))
            appealed = checks.create_task(_appeals(appeals_side, odd_side, ends))
    except* asyncpg.PostgresError as errors:  # a row seal that is no hex, say
        failed.extend(errors.exceptions)
    if failed:
        log.info("live rows unchecked by their seals", extra={"reason": str(failed[0])})
        return None
    rows, (appeal_rows, found) = sealed.result(), appealed.result()
    if rows is None or found is None or rows != appeal_rows:
        return None
    return rows, found


async def _sealed_rows(conn: Any, ends: store.Ends) -> int | None:
    """How many rows below the end offsets, if each is sound and its row seal holds."""
    sealer, count = records.row_sealer(sealing.key()), 0
    async for chunk in store.sealed_rows(conn, ends, _kinds()):
        for (signed,) in chunk:  # the row's digest, then its seal: 32 bytes each
            if signed is None:
                return None
            mac = sealer.copy()
            mac.update(signed[:32])
            if not hmac.compare_digest(mac.digest(), signed[32:]):
                return None
        count += len(chunk)
    return count


async def _appeals(conn: Any, odd_conn: Any, ends: store.Ends) -> tuple[int, dict[str, Any] | None]:
    """The rows the appeals hold, and the report on them (None where an appeal worked out
    by the domain code finds a row that disagrees with its bytes). Streamed in subject
    order: memory holds a chunk of appeals, whatever their number.

    The domain code works out an appeal only where SQL cannot: its timeline where a cause
    follows its effect in time or is not the latest in its stream so far (from the columns
    the row seals vouch for), and, for the first broken chains listed, what breaks them
    (from the rows' bytes, as the comparison does)."""
    later = await store.causes_later(conn, ends)
    total, broken, appeals, rows = domain.OverallDigest(), comparison.Tally(), 0, 0
    async for chunk in store.appeals(conn, ends):
        listing = [s for s, _, breaks, _ in chunk if breaks][
            : comparison.LISTED - len(broken.listed)
        ]
        unordered = [s for s, _, _, digest in chunk if digest is None or s in later]
        read = await store.appeals_below(odd_conn, listing, ends, from_bytes=True)
        vouched = await store.appeals_below(odd_conn, unordered, ends, from_bytes=False)
        for subject, count, breaks, digest in chunk:
            if subject in read:
                if any(fact.problems for fact in read[subject]):
                    return 0, None
                ordered = domain.timeline(read[subject])
                comparison.broken_chains(subject, ordered, broken)
                digest = domain.digest(ordered)
            else:
                broken.count += breaks
                if subject in vouched:
                    digest = domain.vouched_digest(domain.timeline(vouched[subject]))
            assert digest is not None
            total.add(subject, digest)
            appeals, rows = appeals + 1, rows + count
    return rows, comparison.held_report(appeals, total, broken)
