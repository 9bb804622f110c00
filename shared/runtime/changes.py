"""Waiting GETs: a client that waits on another service's reaction asks once and is answered
when the resource changes, instead of polling it.

A GET with `Prefer: wait=N` (RFC 7240) and `If-None-Match: <the ETag it holds>` is held
while the resource is unchanged (or, without If-None-Match, while it does not exist yet),
at most N seconds (at most MAX_WAIT_SECONDS), and answered as soon as it changes; at the
bound it answers as it would have at once: 304 if unchanged, 404 if still absent. Every
commit that changes an appeal's resources sends NOTIFY on CHANNEL with the appeal id (the
append in its statement, the consume loop once per batch), delivered to every process of
the service at the commit, so a waiter in any web process is woken by a change any other
process made. A waiter holds no database connection, only a slot; a process holds at most
`max_waiters` at once and answers 503 with Retry-After past them. A waiter registers before
its first read, so one read answers a request whose resource changed, and a change committed
after that read wakes it. A lost listening connection wakes every waiter to read again (and
listen anew); while no connection listens, a waiter re-reads every RECHECK_SECONDS, and with
one every BACKSTOP_SECONDS at most: a notification is not lost while its connection lives,
so that backstop covers only a writer that forgot to notify.
"""

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Final, TypeVar
from uuid import UUID

import asyncpg
from fastapi import Header, Response

from shared.runtime import openapi
from shared.runtime.eventstore import CHANGED_CHANNEL as CHANNEL
from shared.runtime.problems import Problem

# A stopping process answers its waiters before it exits (uvicorn lets requests in flight
# finish): the 5 s preStop pause plus this stay inside the pods' 30 s grace period.
MAX_WAIT_SECONDS: Final = 20
RECHECK_SECONDS: Final = 2.0  # while no connection listens
BACKSTOP_SECONDS: Final = 10.0  # while one does
RETRY_AFTER_SECONDS: Final = 1
_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*\"?(\d{1,6})\"?", re.IGNORECASE)

log = logging.getLogger("hotline.changes")
T = TypeVar("T")

PreferHeader = Annotated[
    str | None,
    Header(
        description="`wait=N` (RFC 7240): hold the answer while the resource is unchanged"
        " (its ETag is If-None-Match's, or it does not exist yet), at most N seconds"
        f" (at most {MAX_WAIT_SECONDS}); answered as soon as it changes",
    ),
]
IfNoneMatchHeader = Annotated[
    str | None,
    Header(description="the ETag the caller holds: 304 while the resource is still at it"),
]
WAIT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    304: {"description": "unchanged: If-None-Match names the current ETag (after the wait)"},
    **openapi.problem(
        503,
        "Too many requests are waiting in this process: retry after `Retry-After` seconds,"
        " or ask without `Prefer: wait`",
    ),
}


def wait_seconds(prefer: str | None, response: Response) -> float:
    """The wait the caller prefers, bounded; says so in Preference-Applied."""
    found = _WAIT.search(prefer) if prefer else None
    if found is None:
        return 0.0
    seconds = min(int(found.group(1)), MAX_WAIT_SECONDS)
    response.headers["Preference-Applied"] = f"wait={seconds}"
    return float(seconds)


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak comparison, RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def kept_headers(response: Response) -> dict[str, str]:
    """What a route set on `response` that a 304 or a problem answer carries too."""
    return {k: v for k, v in response.headers.items() if k in ("etag", "preference-applied")}


def not_modified(response: Response) -> Response:
    return Response(status_code=304, headers=kept_headers(response))


def too_many_waiting() -> Problem:
    return Problem(
        503,
        "Too many waiting requests",
        "this process holds as many waiting requests as it may; retry, or ask without Prefer: wait",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class ChangeFeed:
    """One process's LISTEN on CHANNEL, opened at the first wait, and its waiters by id."""

    def __init__(self, dsn: str, *, max_waiters: int) -> None:
        self._dsn = dsn
        self._max_waiters = max_waiters
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._count = 0
        self._conn: asyncpg.Connection | None = None
        self._connecting = asyncio.Lock()

    @property
    def waiting(self) -> int:
        return self._count

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _lost(self, _conn: object) -> None:
        """The listening connection closed: notifications meanwhile are lost, so every
        waiter reads again (and the next read listens anew)."""
        for events in self._waiters.values():
            for event in events:
                event.set()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for event in self._waiters.get(payload, ()):
            event.set()

    async def listen(self) -> None:
        """Listen on CHANNEL unless already listening; on failure the waiters re-read every
        RECHECK_SECONDS and the next call tries again."""
        if self.listening:
            return
        async with self._connecting:
            if self.listening:
                return
            try:
                conn = await asyncpg.connect(self._dsn, timeout=5)
                conn.add_termination_listener(self._lost)
                await conn.add_listener(CHANNEL, self._notified)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                # The waiters re-read every RECHECK_SECONDS meanwhile; the next wait retries.
                log.warning("cannot listen for changes", extra={"error": str(exc)})
                return
            self._conn = conn

    @contextlib.asynccontextmanager
    async def watching(self, key: UUID) -> AsyncIterator[asyncio.Event | None]:
        """An event set when `key` changes (a commit's NOTIFY), while the block runs; None
        when the process holds as many waiters as it may."""
        if self._count >= self._max_waiters:
            yield None
            return
        self._count += 1
        event = asyncio.Event()
        waiters = self._waiters.setdefault(str(key), set())
        waiters.add(event)
        try:
            await self.listen()
            yield event
        finally:
            waiters.discard(event)
            if not waiters:
                self._waiters.pop(str(key), None)
            self._count -= 1

    async def close(self) -> None:
        for events in self._waiters.values():  # anyone still waiting answers now
            for event in events:
                event.set()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


async def when_changed(
    feed: ChangeFeed | None,
    key: UUID,
    read: Callable[[], Awaitable[T]],
    changed: Callable[[T], bool],
    seconds: float,
) -> T:
    """`read()`; if not `changed`, again at each change of `key` until it is or `seconds`
    have passed. Returns the last read. Past the process's waiters, a read that is not
    `changed` is answered 503."""
    if seconds <= 0 or feed is None:
        return await read()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with feed.watching(key) as event:
        while True:
            # Registered before reading: a change committed after this read sets `event`.
            if event is not None:
                event.clear()
            found = await read()
            left = deadline - loop.time()
            if changed(found) or left <= 0:
                return found
            if event is None:
                raise too_many_waiting()
            if not feed.listening:
                await feed.listen()
                if feed.listening:
                    continue  # listening anew: a change before that went unheard, so read
            backstop = BACKSTOP_SECONDS if feed.listening else RECHECK_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, backstop))


async def conditional_read(
    feed: ChangeFeed | None,
    key: UUID,
    read: Callable[[], Awaitable[T | None]],
    etag_of: Callable[[T], str],
    *,
    prefer: str | None,
    if_none_match: str | None,
    response: Response,
) -> T | Response | None:
    """A conditional GET that waits as `Prefer: wait` asks: the state read (its ETag set on
    `response`), a 304 while If-None-Match still names it, or None if absent at the bound."""
    found = await when_changed(
        feed,
        key,
        read,
        lambda found: found is not None and not matches(if_none_match, etag_of(found)),
        wait_seconds(prefer, response),
    )
    if found is None:
        return None
    response.headers["ETag"] = etag = etag_of(found)
    return not_modified(response) if matches(if_none_match, etag) else found
