"""Wait for an eventually consistent answer with a deadline, never a fixed sleep."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    deadline_seconds: float = 30,
    what: str = "condition",
) -> T:
    try:
        async with asyncio.timeout(deadline_seconds):
            while True:
                if (found := await probe()) is not None:
                    return found
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what} after {deadline_seconds}s") from None
