"""A minimal HTTP/1.1 keep-alive client for the paced and lifecycle drivers.

httpx spends about a millisecond of CPU per request; on two cores shared with the services,
broker and database, that client would be what the bench measures. This one writes a
prebuilt request and parses a response with Content-Length (all the services send one), a
few tens of microseconds each. One `Pool` per host: connections are reused when free and
opened when none is, so a paced (open-loop) driver never waits for a connection.
"""

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    etag: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> Response:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length, etag = 0, None
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "etag":
                etag = value.strip()
        body = await self.reader.readexactly(length) if length else b""
        return Response(int(status_line.split(" ", 2)[1]), body, etag)

    def close(self) -> None:
        self.writer.close()


REQUEST_SECONDS = 30  # a request unanswered this long is an error, never a hang
MAX_CONNECTIONS = 256  # past this, a request waits for a free connection (and that counts)


class Pool:
    """Keep-alive connections to one host:port, at most MAX_CONNECTIONS of them: a server
    that falls behind an open-loop driver must not be buried under new connections."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.opened = 0

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
    ) -> Response:
        payload = raw_body if raw_body is not None else b""
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if payload or method in ("POST", "PUT", "PATCH"):
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        async with self._slots, asyncio.timeout(REQUEST_SECONDS):
            return await self._send(request)

    async def _send(self, request: bytes) -> Response:
        if self._idle:
            connection = self._idle.pop()
            try:
                response = await connection.exchange(request)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed it while it sat idle (uvicorn's keep-alive timeout), so
                # it never read this request: send it again on a fresh connection.
                connection.close()
                connection = await self._open()
                response = await self._exchange(connection, request)
            except BaseException:
                connection.close()
                raise
        else:
            connection = await self._open()
            response = await self._exchange(connection, request)
        self._idle.append(connection)
        return response

    @staticmethod
    async def _exchange(connection: _Connection, request: bytes) -> Response:
        try:
            return await connection.exchange(request)
        except BaseException:
            connection.close()  # its state is unknown: never reuse it
            raise

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self.opened += 1
        return _Connection(reader, writer)

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()


def another_citizen(appeal: dict[str, Any]) -> dict[str, Any]:
    """The appeal from a citizen of its own (a random phone): traffic from many citizens."""
    citizen = {**appeal["citizen"], "phone": f"139{random.randrange(10**8):08d}"}
    return {**appeal, "citizen": citizen}
