"""The checks of every live row that run beside a replay's pass over the log (in_place.py),
on the same snapshot: what `comparison.compare_in_place` finds by reading each row's bytes
back, found here at a fraction of the cost, or None where these checks cannot vouch for the
store and that comparison must decide.

- Each row: its bytes hash to its hash, it is a fact this code knows from its source's
  topic, and its row seal (domain/records.row_seal), made when audit recorded it, holds for
  its columns as they are now. Audit's key never reaches the database: PostgreSQL renders
  each row's seal message, and this module computes the HMAC. A row recorded before row
  seals has none, and these checks then leave the decision to the comparison.
- Each appeal: its chains and its digest, worked out by PostgreSQL from the columns the
  seals vouch for (store/in_place.py), or by the domain code, as the comparison does, for an
  appeal whose chains break or whose timeline is not simply its facts' time order.
"""

import asyncio
import hmac
import logging
from typing import Any

import asyncpg

from audit_service import comparison, domain, sealing, store
from shared import events, topics

log = logging.getLogger("hotline.audit.replay")
ODD_AT_ONCE = 500  # appeals the domain code works out, read back at a time


def _kinds() -> list[tuple[str, str, str]]:
    """(type, source, topic) of every fact this code knows."""
    return [
        (name, model.source, topics.BY_SOURCE[model.source])
        for name, model in events.EVENT_TYPES.items()
        if model.source in topics.BY_SOURCE
    ]


async def report(
    rows_conn: Any, appeals_conn: Any, end_offsets: dict[str, int]
) -> tuple[int, dict[str, Any]] | None:
    """The rows below the end offsets and `comparison.compare_in_place`'s report on them,
    or None where a row is not vouched for by its row seal."""
    ends = store.ends_of(end_offsets)
    failed: list[Exception] = []
    try:  # the first to fail stops the other: both connections are done with on return
        async with asyncio.TaskGroup() as checks:
            sealed = checks.create_task(_sealed_rows(rows_conn, ends))
            appealed = checks.create_task(_appeals(appeals_conn, ends, end_offsets))
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
    sealed, count = hmac.new(sealing.key(), digestmod="sha256"), 0
    async for chunk in store.sealed_rows(conn, ends, _kinds()):
        for (signed,) in chunk:
            if signed is None:
                return None
            mac = sealed.copy()  # the key's HMAC state, set up once
            mac.update(signed[:-32])
            if not hmac.compare_digest(mac.digest(), signed[-32:]):
                return None
        count += len(chunk)
    return count


async def _appeals(
    conn: Any, ends: store.Ends, end_offsets: dict[str, int]
) -> tuple[int, dict[str, Any] | None]:
    """The rows the appeals hold, and the report on them (None where an appeal worked out
    by the domain code finds a row that disagrees with its bytes)."""
    found = await store.appeals(conn, ends)
    odd = [subject for subject, _, holds, digest in found if digest is None or not holds]
    broken, worked = comparison.Tally(), {}
    for start in range(0, len(odd), ODD_AT_ONCE):
        chunk = odd[start : start + ODD_AT_ONCE]
        facts = await store.appeals_below(conn, chunk, end_offsets)
        for subject in chunk:
            if any(fact.problems for fact in facts[subject]):
                return 0, None
            ordered = domain.timeline(facts[subject])
            comparison.broken_chains(subject, ordered, broken)
            worked[subject] = domain.digest(ordered)
    total = domain.OverallDigest()
    for subject, _, _, digest in found:
        total.add(subject, worked.get(subject, digest or ""))
    return sum(count for _, count, _, _ in found), {
        "equal": True,
        "appeals": len(found),
        "live_digest": total.hexdigest(),
        "replay_digest": total.hexdigest(),
        "differing_appeals": 0,
        "differing": [],
        "broken_chains": broken.count,
        "broken": broken.listed,
    }
