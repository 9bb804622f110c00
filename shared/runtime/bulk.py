"""Many rows in one statement with one parameter: the rows as a JSON array, which
PostgreSQL's `jsonb_populate_recordset` expands into the table's own column types.

The statement's text is the same whatever the number of rows, so SQLAlchemy compiles it
once and asyncpg prepares it once; a multi-row VALUES list is a new statement for every
row count, and compiling it costs a consume batch more than the database's work.
"""

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, TextClause
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg

_DIALECT = postgresql_asyncpg.dialect()  # type: ignore[no-untyped-call]


def insert_rows(table: Table, columns: Sequence[str], *, on_conflict: str = "") -> str:
    """INSERT of `columns` from the JSON rows (`json_rows`) bound as `:rows`;
    `on_conflict` is appended (`upsert(...)` builds the common one)."""
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} '
        f'FROM jsonb_populate_recordset(NULL::"{table.name}", CAST(:rows AS jsonb)) {on_conflict}'
    )


def upsert(key: str, columns: Iterable[str]) -> str:
    """ON CONFLICT clause: a row whose `key` exists takes the new values of `columns`."""
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c != key)
    return f'ON CONFLICT ("{key}") DO UPDATE SET {updates}'


def json_rows(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), default=_plain, ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


@functools.lru_cache(maxsize=64)
def _for_driver(statement: TextClause) -> tuple[str, tuple[str, ...]]:
    """A statement as asyncpg runs it: its text with `$n` for each `:name`, and the names in
    `$n` order. Run through SQLAlchemy's connection instead (a greenlet hop, a cursor, the
    result's metadata), a statement cost about as much CPU again as its round trip."""
    compiled = statement.compile(dialect=_DIALECT)
    return compiled.string, tuple(compiled.positiontup or ())


async def fetch(driver: Any, statement: TextClause, parameters: dict[str, Any]) -> list[Any]:
    """Run a `:name` statement (these rows statements, say) on the asyncpg connection
    itself; its rows as asyncpg returns them."""
    sql, names = _for_driver(statement)
    return list(await driver.fetch(sql, *(parameters[name] for name in names)))
