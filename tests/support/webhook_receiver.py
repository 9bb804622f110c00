"""A real HTTP receiver for webhook tests: a tiny Starlette app served by uvicorn on a free
127.0.0.1 port, in the test's own event loop. It records every request and can be told to
answer with an error, or be stopped (down) and started again on the same port."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)
    status: int = 204  # what it answers
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def unique(self) -> dict[str, Received]:
        """What a receiver keeps after deduplicating by `webhook-id` (the last of each)."""
        return {r.headers["webhook-id"]: r for r in self.requests}

    async def _hook(self, request: Request) -> Response:
        self.requests.append(Received(dict(request.headers), await request.body()))
        return Response(status_code=self.status)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:  # noqa: ASYNC110 (uvicorn offers a flag only)
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            async with asyncio.timeout(10):
                await self._task
        self._server = self._task = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def receiver(*, up: bool = True) -> AsyncIterator[Receiver]:
    found = Receiver(free_port())
    if up:
        await found.start()
    try:
        yield found
    finally:
        await found.stop()
