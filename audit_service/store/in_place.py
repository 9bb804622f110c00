"""A replay's check of the live store in place (in_place.py, live_checks.py), on one snapshot:
the log's records set against the rows at their places; every row's seal message, its bytes
and its kind checked; each appeal's chains and digest. PostgreSQL does what needs no key,
on its own core, while the replay reads the log on ours.

An appeal's digest is worked out here as domain/facts.digest works it out, and a row's seal
message read as tables.row_digest renders it, as domain/records.row_message does: tests
hold each pair equal (tests/integration/test_live_checks.py).
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from audit_service import sealing
from audit_service.domain import Fact, records, wire
from audit_service.store import tables
from shared import envelope

Ends = tuple[list[str], list[int], list[int]]  # topics, partitions, end offsets, column-wise


@asynccontextmanager
async def one_snapshot(engine: AsyncEngine, count: int) -> AsyncIterator[list[Any]]:
    """`count` connections in read-only transactions that all see one snapshot of the
    database, so checks run side by side agree on which rows there are."""
    async with AsyncExitStack() as stack:
        conns = []
        snapshot = None
        for _ in range(count):
            conn = await stack.enter_async_context(engine.connect())
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await stack.enter_async_context(
                raw.transaction(isolation="repeatable_read", readonly=True)
            )
            if snapshot is None:
                snapshot = await raw.fetchval("SELECT pg_export_snapshot()")
            else:
                await raw.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            # The checks run side by side already: workers of their own only cost more CPU.
            await raw.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            conns.append(raw)
        yield conns


_LIVE = """
JOIN unnest($1::text[], $2::int[], $3::bigint[]) AS e(topic, partition, end_offset)
    ON f.topic = e.topic AND f.partition = e.partition AND f."offset" < e.end_offset
"""

# The log's records of a batch, a group per partition (its offsets and their records' hashes
# as comma-separated lists: arrays of this size cost the driver more to send than the
# database to check), against the live rows in each group's range of offsets: first the
# rows' count, then each record without a row of its hash at its place (with the row's
# hash, or NULL for none) and each row at a place with no record (n NULL).
_AGAINST_LOG = """
WITH groups AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[], $6::bigint[],
        $7::bigint[]) AS g(topic, partition, offsets, hashes, first, low, high)
), batch AS (
    SELECT g.topic, g.partition, r."offset", r.hash, g.first + r.n - 1 AS n
    FROM groups AS g CROSS JOIN LATERAL unnest(
        string_to_array(g.offsets, ',')::bigint[], string_to_array(g.hashes, ',')
    ) WITH ORDINALITY AS r("offset", hash, n)
), live AS (
    SELECT f.topic, f.partition, f."offset", f.hash
    FROM groups AS g JOIN public.facts AS f
        ON f.topic = g.topic AND f.partition = g.partition AND f."offset" BETWEEN g.low AND g.high
)
SELECT NULL::bigint AS n, NULL::text AS hash, count(*) AS rows FROM live
UNION ALL
SELECT b.n, l.hash, NULL FROM batch AS b FULL JOIN live AS l USING (topic, partition, "offset")
WHERE b.n IS NULL OR l.hash IS DISTINCT FROM b.hash
"""

# A batch's records of one partition: (topic, partition, their offsets and hashes joined by
# commas, the index of the first in the batch, the lowest and highest offset to look at).
Group = tuple[str, int, str, str, int, int, int]


async def against_log(
    conn: Any, groups: Sequence[Group]
) -> tuple[int, list[tuple[int | None, str | None]]]:
    """The live rows in the groups' ranges: how many, and where they differ from the
    records, as (the record's index in the batch, or None for a row at no record's place;
    the row's hash, or None for no row)."""
    found = await conn.fetch(_AGAINST_LOG, *(list(column) for column in zip(*groups, strict=True)))
    return int(found[0][2]), [(r[0], r[1]) for r in found[1:]]


async def live_in(conn: Any, ranges: Sequence[tuple[str, int, int, int]]) -> bool:
    """Whether the live store holds a row in any of these (topic, partition, low, high)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[])"
            " AS r(topic, partition, low, high) JOIN public.facts AS f ON f.topic = r.topic"
            ' AND f.partition = r.partition AND f."offset" BETWEEN r.low AND r.high)',
            *(list(column) for column in zip(*ranges, strict=True)),
        )
    )


# Each row below the end offsets: the SHA-256 its row seal signs, followed by the seal, or
# NULL for a row without one or that is unsound: a fact this code does not know, not from
# its source's topic, or (where `ck_facts_body_hash` does not hold every row to it already)
# whose bytes do not hash to its hash. One column: each costs the driver per row. `{digest}`:
# the row's generated `row_digest`, or (where that is not what it should be) worked out.
_ROWS = f"""
SELECT CASE WHEN (f.type, f.source, f.topic)
        IN (SELECT * FROM unnest($4::text[], $5::text[], $6::text[]))
        AND ($7 OR f.hash = encode(sha256(convert_to(f.body, 'UTF8')), 'hex'))
    THEN {{digest}} || decode(f.row_seal, 'hex')
    END
FROM public.facts AS f {_LIVE}
"""
# What PostgreSQL (17, as services/postgres.sh runs it) makes of tables.BODY_HASHED, and the
# SHA-256 of what it makes of tables.row_digest(). Another rendering (another version) only
# costs a replay the work these spare it.
_BODY_HASHED = (
    "CHECK (((hash)::text = encode(sha256(convert_to(body, 'UTF8'::name)), 'hex'::text)))"
)
_ROW_DIGEST = "816767e652fb6db91545d0ff6f1a808441e1fd2395a9f6aeacb16618043744f6"


async def bodies_hashed(conn: Any) -> bool:
    """Whether PostgreSQL holds every live row's bytes to its hash: `ck_facts_body_hash` is
    there, as written, and validated (a NOT VALID one holds only rows written since)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = 'public.facts'::regclass"
            " AND conname = 'ck_facts_body_hash' AND contype = 'c' AND convalidated"
            " AND pg_get_constraintdef(oid) = $1)",
            _BODY_HASHED,
        )
    )


async def digests_kept(conn: Any) -> bool:
    """Whether PostgreSQL keeps every live row's `row_digest` itself: still a generated
    column, from the expression it was made with. (A column whose expression was dropped
    keeps whatever values it is given; giving it one again recomputes every row.)"""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_attribute AS a JOIN pg_attrdef AS d"
            " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = 'public.facts'::regclass AND a.attname = 'row_digest'"
            " AND a.attgenerated = 's'"
            " AND encode(sha256(convert_to(pg_get_expr(d.adbin, d.adrelid), 'UTF8')), 'hex') = $1)",
            _ROW_DIGEST,
        )
    )


async def sealed_rows(
    conn: Any, ends: Ends, kinds: Sequence[tuple[str, str, str]], chunk: int = 5000
) -> AsyncIterator[list[Any]]:
    """The rows below the end offsets, `chunk` at a time: each the SHA-256 its row seal
    signs followed by its row seal, or None where it has none or is unsound. `kinds`: the
    (type, source, topic) of every fact this code knows."""
    hashed = await bodies_hashed(conn)
    digest = "f.row_digest" if await digests_kept(conn) else tables.row_digest("f.")
    kinded = [list(column) for column in zip(*kinds, strict=True)]
    cursor = await conn.cursor(_ROWS.format(digest=digest), *ends, *kinded, hashed)
    while rows := await cursor.fetch(chunk):
        yield rows


# Each appeal below the end offsets, in subject order: its rows, how many of its sources'
# chains break (a source's versions must run 1..n, each naming the hash before it, in place
# order), and its digest, with its facts in the order domain/facts.timeline puts them.
#
# Leaving causes aside, that timeline merges the appeal's streams (each in (version, id)
# order), taking each time the least, by (time, source, version, id), of the streams' next
# facts. Call a fact whose time is the latest in its stream so far a lead: once it is taken,
# the facts after it up to its stream's next lead are all earlier, so they follow it at once.
# The merge is thus sorted by (its lead's time: the latest time in the stream up to the fact,
# source, version, id). Where every cause is a lead and comes before its effect by (time,
# source, version, id), it comes before it in this order too, and the causes change nothing.
# Otherwise (here, or as `_CAUSES_LATER` finds) the digest is NULL: the domain code orders
# that appeal. An id's text sorts as the id does.
_APPEALS = f"""
SELECT subject, count(*), count(DISTINCT source) FILTER (WHERE NOT chain_holds),
    CASE WHEN NOT coalesce(array_agg(event_id) FILTER (WHERE time < latest)
        && array_agg(causation_id), false) THEN
    encode(sha256(convert_to(string_agg(hash, E'\\n' ORDER BY latest, source, version, event_id),
        'UTF8')), 'hex') END
FROM (
    SELECT f.subject, f.source COLLATE "C" AS source, f.version, f.event_id, f.time, f.hash,
        f.causation_id, max(f.time) OVER stream AS latest,
        row_number() OVER stream = f.version
        AND f.prev_hash = coalesce(lag(f.hash) OVER stream, $4)
        AND NOT coalesce(lag(f.partition) OVER stream = f.partition
            AND f."offset" < lag(f."offset") OVER stream, false) AS chain_holds
    FROM public.facts AS f {_LIVE}
    WINDOW stream AS (PARTITION BY f.subject, f.source COLLATE "C" ORDER BY f.version, f.event_id)
) AS linked
GROUP BY subject ORDER BY subject
"""

# The appeals below the end offsets with a fact whose cause, in the same appeal, does not
# come before it in (time, source, version, id) order.
_CAUSES_LATER = f"""
WITH live AS (
    SELECT f.event_id, f.subject, f.causation_id, f.time, f.source COLLATE "C" AS source, f.version
    FROM public.facts AS f {_LIVE}
)
SELECT DISTINCT effect.subject FROM live AS effect
JOIN live AS cause ON cause.event_id = effect.causation_id AND cause.subject = effect.subject
WHERE ROW(cause.time, cause.source, cause.version, cause.event_id)
    >= ROW(effect.time, effect.source, effect.version, effect.event_id)
"""


async def appeals(
    conn: Any, ends: Ends, chunk: int = 5000
) -> AsyncIterator[list[tuple[UUID, int, int, str | None]]]:
    """Each appeal below the end offsets, in subject order, `chunk` at a time: (subject,
    rows, its broken chains, its digest, or None where a cause is not the latest in its
    stream so far; see `_APPEALS`, and `causes_later` for causes later than their effects)."""
    await conn.execute("SET LOCAL work_mem = '64MB'")
    cursor = await conn.cursor(_APPEALS, *ends, envelope.GENESIS_HASH)
    while rows := await cursor.fetch(chunk):
        yield [(row[0], row[1], row[2], row[3]) for row in rows]


async def causes_later(conn: Any, ends: Ends) -> set[UUID]:
    """The appeals below the end offsets with a fact whose cause (in the appeal) does not
    come before it in (time, source, version, id) order: a clock behind another's."""
    return {row[0] for row in await conn.fetch(_CAUSES_LATER, *ends)}


# The rows of some appeals, each appeal's looked up by its subject (OFFSET 0 keeps that
# lookup from being folded into a join). Asked as a filter on the rows below the end
# offsets, PostgreSQL with no statistics yet (a store just filled) took the store to be
# small and read all of it, once per chunk of appeals: seconds per replay.
_BELOW = f"""
SELECT f.* FROM unnest($4::uuid[]) AS s(subject)
CROSS JOIN LATERAL (SELECT * FROM public.facts WHERE subject = s.subject OFFSET 0) AS f {_LIVE}
"""


async def appeals_below(
    conn: Any, subjects: Sequence[UUID], ends: Ends, *, from_bytes: bool
) -> dict[UUID, list[Fact]]:
    """These appeals' facts below the end offsets: each read back from its bytes, as the
    comparison reads it (`from_bytes`), or as its columns say, without its bytes (a row its
    row seal vouches for, whose bytes hash to its hash)."""
    found: dict[UUID, list[Fact]] = {subject: [] for subject in subjects}
    if not subjects:
        return found
    rows = await conn.fetch(_BELOW, *ends, list(subjects))
    key = sealing.key()
    for row in rows:
        fact = records.from_row(row, key) if from_bytes else _as_columns_say(row)
        found[fact.subject].append(fact)
    return found


def _as_columns_say(row: Any) -> Fact:
    stated = {column: row[column] for column in wire.COLUMNS[:10]}  # event_id .. prev_hash
    return Fact(**stated, body="", place=(row["topic"], row["partition"], row["offset"]))


def ends_of(end_offsets: dict[str, int]) -> Ends:
    keys = [key.rpartition(":") for key in end_offsets]
    return (
        [topic for topic, _, _ in keys],
        [int(number) for _, _, number in keys],
        list(end_offsets.values()),
    )
