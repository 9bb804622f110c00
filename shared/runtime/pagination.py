"""One pagination style for every list: an opaque `cursor` in, the `next` cursor in the body
and in a `Link: <...>; rel="next"` header out. A cursor is the keyset of the last item shown
(base64url JSON); one this API did not issue is a 400 problem, never a 500."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from shared.runtime.problems import Problem

Item = TypeVar("Item")
KeyPart = datetime | UUID | int | str
Kind = type[datetime] | type[UUID] | type[int] | type[str]

CursorQuery = Annotated[
    str | None,
    Query(
        max_length=400,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the `next` cursor of the previous page; absent for the first page",
    ),
]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="items per page")]


class Page(BaseModel, Generic[Item]):
    """One page of a list; `next` is the cursor of the following page, null at the end."""

    items: list[Item]
    next: str | None = Field(description="pass as `cursor` for the next page; null at the end")


def encode(*key: KeyPart) -> str:
    parts = [k.isoformat() if isinstance(k, datetime) else k for k in key]
    raw = json.dumps([str(p) if isinstance(p, UUID) else p for p in parts]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, *kinds: Kind) -> tuple[Any, ...]:
    """The keyset a cursor names, each part of the kind given; 400 for any other cursor."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_part(kind, part) for kind, part in zip(kinds, parts, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise Problem(400, "Bad Request", "the cursor is not one this API issued") from exc


def _part(kind: Kind, value: Any) -> KeyPart:
    if kind is datetime and isinstance(value, str):
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at
    if kind is UUID and isinstance(value, str):
        return UUID(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise ValueError(f"not a {kind.__name__}")


def page(
    items: Sequence[Item],
    *,
    limit: int,
    key: Callable[[Item], tuple[KeyPart, ...]],
    request: Request,
    response: Response,
) -> Page[Item]:
    """A page of `items` (fetched with limit + 1 rows, or exactly `limit`: a full page has a
    next cursor either way), with the Link header pointing at the next page."""
    shown = list(items[:limit])
    next_cursor = encode(*key(shown[-1])) if len(items) >= limit and shown else None
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return Page[Item](items=shown, next=next_cursor)


LINK_HEADER = {
    "Link": {
        "description": 'RFC 8288 link to the next page, `<...>; rel="next"`, absent at the end',
        "schema": {"type": "string"},
    }
}
