"""Many rows in one statement with one parameter: the rows as a JSON array, which
PostgreSQL's `jsonb_populate_recordset` expands into the table's own column types.

The statement's text is the same whatever the number of rows, so SQLAlchemy compiles it
once and asyncpg prepares it once; a multi-row VALUES list is a new statement for every
row count, and compiling it costs a consume batch more than the database's work.
"""

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table


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
