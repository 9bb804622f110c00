"""Rate limits on what answers without a token or can be guessed: 429 with Retry-After.

From `limits` (moving window). The counts live in each process's memory: a deployment with
N replicas behind a load balancer allows up to N times each limit (docs/operations.md says
so); that still bounds guessing, and needs no shared store.
"""

import math
import time
from typing import Final

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from shared.runtime.problems import Problem

TOO_MANY: Final = "Too Many Requests"


def item(text: str) -> RateLimitItem:
    """A limit in `limits`' notation ("60/minute"); a ValueError names a bad one."""
    return parse(text)


def client_of(request: Request) -> str:
    """Who is counted: the peer address (behind a proxy, the proxy's; the ingress should
    limit per real client too)."""
    return request.client.host if request.client else "unknown"


class RateLimiter:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, limit: RateLimitItem, *key: str) -> None:
        """Count one request; over the limit, a 429 problem with Retry-After."""
        if not self._limiter.hit(limit, *key):
            self._refuse(limit, key)

    def check(self, limit: RateLimitItem, *key: str) -> None:
        """A 429 if the key is over the limit already, without counting this request."""
        if not self._limiter.test(limit, *key):
            self._refuse(limit, key)

    def _refuse(self, limit: RateLimitItem, key: tuple[str, ...]) -> None:
        reset_at = self._limiter.get_window_stats(limit, *key).reset_time
        retry = max(1, math.ceil(reset_at - time.time()))
        raise Problem(
            429,
            TOO_MANY,
            f"more than {limit} for {key[0]}; retry after {retry} seconds",
            headers={"Retry-After": str(retry)},
        )


def of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter
