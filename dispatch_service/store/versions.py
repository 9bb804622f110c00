"""Which catalogue versions are in force: the newest routing version, every SLA policy
version with when it takes effect, and the newest calendar version, read in one statement.

An assignment decides by all three, and each was a round trip of its own in every consume
batch and command. They are read together once per transaction (`Tx.memo`), in a consume
batch within its first statement (`BATCH_READ`): never from a cache across transactions,
since another replica or an admin route may publish a version at any time, and a decision
must be made by the versions its own transaction sees. What a version holds (rules,
documents, holidays) never changes once published, so the modules that build it keep it
per process, by version.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from shared.runtime.batch import BatchRead
from shared.runtime.eventstore import Tx

_MEMO = "dispatch.versions"  # its key in Tx.memo
# One JSON document, so that a consume batch's first statement can carry it as one value;
# each aggregate yields one row (null routing: none published). SQL text on the driver:
# prepared once per connection.
IN_FORCE = """
    SELECT json_build_object(
        'routing', (SELECT max(version) FROM routing_versions),
        'policies', (SELECT coalesce(json_agg(json_build_array(version, effective_from)
                                              ORDER BY version), '[]') FROM sla_policies),
        'calendar', (SELECT coalesce(max(number), 0) FROM calendar_versions))::text"""


@dataclass(frozen=True, slots=True)
class InForce:
    routing: int | None  # None: no routing table has been published
    policies: list[tuple[int, datetime]]  # (version, effective_from), oldest version first
    calendar: int  # 0: the seed calendar, nothing published


async def in_force(tx: Tx) -> InForce:
    """The versions this transaction sees, read at its first need and kept for the rest of
    it (a consume batch decides many appeals in one); `forget` after publishing one."""
    if (memoized := tx.memo.get(_MEMO)) is None:
        keep(tx, await tx.driver.fetchval(IN_FORCE))
        memoized = tx.memo[_MEMO]
    return memoized  # type: ignore[no-any-return]


def keep(tx: Tx, document: str | None) -> None:
    """What `IN_FORCE` read, kept for the rest of the transaction."""
    assert document is not None  # json_build_object of scalar subqueries: always a row
    found = json.loads(document)
    tx.memo[_MEMO] = InForce(
        routing=found["routing"],
        policies=[(v, datetime.fromisoformat(at)) for v, at in found["policies"]],
        calendar=int(found["calendar"]),
    )


# Carried by each consume batch that runs handlers (shared.runtime.batch): a batch's
# assignments and ratings then find the versions in force already read, in their transaction.
BATCH_READ = BatchRead(IN_FORCE, keep)


def forget(tx: Tx) -> None:
    """This transaction has just published a version: its next read sees it."""
    tx.memo.pop(_MEMO, None)
