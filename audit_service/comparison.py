"""Live projection against a rebuilt one, appeal by appeal, in one streamed pass.

Both sides are read in subject order through server-side cursors and merged, so memory holds
one appeal's facts from each side and the listed differences (at most LISTED), however many
facts and appeals there are. Chains are verified again on the rebuilt side: what the log
itself holds, not what the live projection kept.

After an in-place check (in_place.py) found the live store holding the log's facts at their
places, `compare_in_place` reads the live side alone: each row checked against its bytes
and audit's seal, as a rebuilt row is, so the live side is then the rebuilt one.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from audit_service import domain, store
from shared import events

LISTED = 100


@dataclass
class Tally:
    """A count, and the first LISTED items counted."""

    count: int = 0
    listed: list[Any] = field(default_factory=list)

    def add(self, item: Any) -> None:
        self.count += 1
        if len(self.listed) < LISTED:
            self.listed.append(item)


async def _digests(
    conn: AsyncConnection, end_offsets: dict[str, int], broken: Tally | None
) -> AsyncIterator[tuple[UUID, str, bool]]:
    """Each appeal's digest, and whether every row of it passes its check: a history shows
    one fact per event id, so a second row claiming a shown fact's bytes (under another
    event id) leaves the digest as it was, but not its row's check."""
    async for subject, facts in store.facts_by_appeal(conn, end_offsets):
        ordered = domain.timeline(facts)
        if broken is not None:
            broken_chains(subject, ordered, broken)
        yield subject, domain.digest(ordered), not any(fact.problems for fact in facts)


def broken_chains(subject: UUID, ordered: list[domain.Fact], broken: Tally) -> None:
    for chain in domain.verify_chains(ordered):
        if not chain.verified:
            broken.add(
                {
                    "appeal_id": str(subject),
                    "source": chain.source,
                    "problems": list(chain.problems),
                }
            )


async def compare(
    engine: AsyncEngine, schema_name: str, end_offsets: dict[str, int]
) -> dict[str, Any]:
    live_total, rebuilt_total = domain.OverallDigest(), domain.OverallDigest()
    differing, broken, appeals = Tally(), Tally(), 0
    async with engine.connect() as live_conn, engine.connect() as other:
        rebuilt_conn = await other.execution_options(schema_translate_map={None: schema_name})
        live = _digests(live_conn, end_offsets, None)
        rebuilt = _digests(rebuilt_conn, end_offsets, broken)
        a, b = await anext(live, None), await anext(rebuilt, None)
        while a is not None or b is not None:
            if b is None or (a is not None and a[0] < b[0]):  # only live has it
                assert a is not None
                live_total.add(*a[:2])
                differing.add(str(a[0]))
                a = await anext(live, None)
            elif a is None or b[0] < a[0]:  # only the log has it
                rebuilt_total.add(*b[:2])
                appeals += 1
                differing.add(str(b[0]))
                b = await anext(rebuilt, None)
            else:
                live_total.add(*a[:2])
                rebuilt_total.add(*b[:2])
                appeals += 1
                if a[1] != b[1] or not a[2]:
                    differing.add(str(a[0]))
                a, b = await anext(live, None), await anext(rebuilt, None)
    return {
        "equal": differing.count == 0,
        "appeals": appeals,
        "live_digest": live_total.hexdigest(),
        "replay_digest": rebuilt_total.hexdigest(),
        "differing_appeals": differing.count,
        "differing": differing.listed,
        "broken_chains": broken.count,
        "broken": broken.listed,
    }


async def compare_in_place(
    engine: AsyncEngine, end_offsets: dict[str, int], *, rows: int
) -> dict[str, Any] | None:
    """`compare`'s report for a live store found holding the log's facts at their places in
    `rows` rows, or None (the replay then rebuilds) at the first live row that fails its
    check or holds a fact a rebuild would leave out (a type this code does not know, or
    not its source's), or when the rows read now are not those (one deleted since)."""
    total, broken, appeals, read = domain.OverallDigest(), Tally(), 0, 0
    async with engine.connect() as conn:
        async for subject, facts in store.facts_by_appeal(conn, end_offsets):
            if not all(_as_rebuilt(fact) for fact in facts):
                return None
            ordered = domain.timeline(facts)
            broken_chains(subject, ordered, broken)
            total.add(subject, domain.digest(ordered))
            appeals, read = appeals + 1, read + len(facts)
    if read != rows:
        return None
    return held_report(appeals, total, broken)


def held_report(appeals: int, total: domain.OverallDigest, broken: Tally) -> dict[str, Any]:
    """`compare`'s report for a live store that holds the log: its side is the replay's."""
    return {
        "equal": True,
        "appeals": appeals,
        "live_digest": total.hexdigest(),
        "replay_digest": total.hexdigest(),
        "differing_appeals": 0,
        "differing": [],
        "broken_chains": broken.count,
        "broken": broken.listed,
    }


def _as_rebuilt(fact: domain.Fact) -> bool:
    """Whether a rebuild would hold this live row as it is: it passes its check, and it is
    a fact of a type this code knows, from that type's source (log_reader.fact_row)."""
    model = events.EVENT_TYPES.get(fact.type)
    return not fact.problems and model is not None and model.source == fact.source
