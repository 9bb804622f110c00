"""Group commit: the commands a busy process is asked for at once share one transaction.

A command's BEGIN and COMMIT are two of a filing's four round trips, and its commit a WAL
flush, a NOTIFY lock and a backend's wake-up more: what a transaction costs whatever it
holds (docs/benchmarks.md, group commit). `CommitGroups.run` has the command's action run
in a transaction that up to `most` commands waiting at the same time share, one after
another, each in its caller's context (its span, its log fields). At most `at_once` such
transactions are open at a time; a command that arrives while they all are waits for the
next. An idle process has one waiting command at a time: it runs alone, as
`Database.run` runs it.

Each command still commits with its facts and read model or not at all, as in a
transaction of its own: if an action raises, the group's transaction rolls back and every
action of the group runs again alone, so only one that fails on its own answers with its
error. A commit that fails, or whose outcome is unknown (the connection lost), is every
member's error: running them again could apply twice what was in fact committed.
"""

import asyncio
import contextvars
from collections import deque
from typing import Any, TypeVar

from shared.runtime import metrics
from shared.runtime.database import Action, Database
from shared.runtime.eventstore import Tx

T = TypeVar("T")


class _Waiting:
    __slots__ = ("action", "answer", "context")

    def __init__(self, action: Action[Any]) -> None:
        self.action = action
        self.context = contextvars.copy_context()
        self.answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Its caller may be gone (shielded in `run`): an error nobody reads is not logged.
        self.answer.add_done_callback(lambda answer: answer.cancelled() or answer.exception())


class _ActionFailed(Exception):
    """An action raised inside the group's transaction (the group then rolls back)."""


class CommitGroups:
    def __init__(self, db: Database, *, most: int, at_once: int, service: str) -> None:
        self._db = db
        self._sizes = metrics.COMMIT_GROUP_COMMANDS.labels(service)
        self._reruns = metrics.COMMIT_GROUP_RERUNS.labels(service)
        self._most = most
        self._at_once = at_once
        self._waiting: deque[_Waiting] = deque()
        self._open = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, action: Action[T]) -> T:
        waiting = _Waiting(action)
        self._waiting.append(waiting)
        if self._open < self._at_once:
            self._open += 1
            # A context of its own: a group serves many requests, none of them its parent.
            task = asyncio.create_task(self._drain(), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Shielded: a caller that goes away leaves its command to finish in the group (it
        # commits or not with the others), as a request cut off after its commit would.
        result: T = await asyncio.shield(waiting.answer)
        return result

    async def _drain(self) -> None:
        group: list[_Waiting] = []
        try:
            while self._waiting:
                count = min(self._most, len(self._waiting))
                group = [self._waiting.popleft() for _ in range(count)]
                self._sizes.observe(count)
                await (self._alone(group[0]) if count == 1 else self._together(group))
                group = []
        finally:
            self._open -= 1
            for waiting in group:  # cancelled (the process stopping): none is left hanging
                if not waiting.answer.done():
                    waiting.answer.cancel()

    async def _together(self, group: list[_Waiting]) -> None:
        results: list[Any] = []
        try:
            async with self._db.transaction() as tx:
                for waiting in group:
                    try:
                        results.append(await _in_context(waiting, tx))
                    except Exception as exc:
                        raise _ActionFailed from exc
        except _ActionFailed:
            self._reruns.inc(len(group))
            for waiting in group:  # rolled back: each again in a transaction of its own
                await self._alone(waiting)
            return
        except Exception as exc:  # the transaction's own (its connection, its commit): all's
            for waiting in group:
                _answer(waiting, error=exc)
            return
        for waiting, result in zip(group, results, strict=True):
            _answer(waiting, result=result)

    async def _alone(self, waiting: _Waiting) -> None:
        try:  # the whole transaction in the caller's context: its span is the request's
            run = self._db.run(waiting.action)
            result = await asyncio.create_task(run, context=waiting.context)
        except Exception as exc:
            _answer(waiting, error=exc)
        else:
            _answer(waiting, result=result)


async def _in_context(waiting: _Waiting, tx: Tx) -> Any:
    """The action run as a task in its caller's context: what it traces and logs is the
    caller's request's, not the group's first."""
    return await asyncio.create_task(waiting.action(tx), context=waiting.context)


def _answer(waiting: _Waiting, *, result: Any = None, error: BaseException | None = None) -> None:
    if waiting.answer.done():
        return
    if error is not None:
        waiting.answer.set_exception(error)
    else:
        waiting.answer.set_result(result)
