"""Which catalogue versions are in force: the newest routing version, every SLA policy
version with when it takes effect, and the newest calendar version, read in one statement.

An assignment decides by all three, and each was a round trip of its own in every consume
batch and command. They are read together once per transaction (`Tx.memo`): never from a
cache across transactions, since another replica or an admin route may publish a version
at any time, and a decision must be made by the versions its own transaction sees. What a
version holds (rules, documents, holidays) never changes once published, so the modules
that build it keep it per process, by version.
"""

from dataclasses import dataclass
from datetime import datetime

from shared.runtime.eventstore import Tx

_MEMO = "dispatch.versions"  # its key in Tx.memo
# Each aggregate without GROUP BY yields one row, so the product is one row, nulls where a
# table is empty. SQL text on the driver: prepared once per connection.
_IN_FORCE = """
    SELECT r.version AS routing, p.versions, p.effective, c.number AS calendar
    FROM (SELECT max(version) AS version FROM routing_versions) AS r,
         (SELECT array_agg(version ORDER BY version) AS versions,
                 array_agg(effective_from ORDER BY version) AS effective
          FROM sla_policies) AS p,
         (SELECT max(number) AS number FROM calendar_versions) AS c"""


@dataclass(frozen=True, slots=True)
class InForce:
    routing: int | None  # None: no routing table has been published
    policies: list[tuple[int, datetime]]  # (version, effective_from), oldest version first
    calendar: int  # 0: the seed calendar, nothing published


async def in_force(tx: Tx) -> InForce:
    """The versions this transaction sees, read at its first need and kept for the rest of
    it (a consume batch decides many appeals in one); `forget` after publishing one."""
    if (memoized := tx.memo.get(_MEMO)) is not None:
        return memoized  # type: ignore[no-any-return]
    row = await tx.driver.fetchrow(_IN_FORCE)
    found = tx.memo[_MEMO] = InForce(
        routing=row["routing"],
        policies=list(zip(row["versions"] or (), row["effective"] or (), strict=True)),
        calendar=int(row["calendar"] or 0),
    )
    return found


def forget(tx: Tx) -> None:
    """This transaction has just published a version: its next read sees it."""
    tx.memo.pop(_MEMO, None)
