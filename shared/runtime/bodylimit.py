"""Request bodies are limited before anything reads them (authentication, parsing): a body
over the limit is a 413 problem, whether its Content-Length says so or it only streams that
much (chunked, or a Content-Length that lies). 64 KiB unless a route needs more."""

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime.problems import MEDIA_TYPE

DEFAULT_LIMIT = 64 * 1024


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit. An HTTPException, so FastAPI's
    body parsing lets it through and the problem handler answers it (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def _problem(scope: Scope, status: int, title: str, detail: str) -> tuple[Message, Message]:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
        | {"instance": scope.get("path", "")}
    ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, default: int = DEFAULT_LIMIT, larger: Mapping[str, int] = {}
    ) -> None:
        self._app = app
        self._default = default
        self._larger = dict(larger)  # exact path → its own limit (e.g. a catalogue upload)

    def limit_of(self, path: str) -> int:
        return self._larger.get(path, self._default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            too_large = declared.isdigit()
            for message in _problem(
                scope,
                413 if too_large else 400,
                "Content Too Large" if too_large else "Bad Request",
                f"the request body is larger than {limit} bytes"
                if too_large
                else "Content-Length is not a number",
            ):
                await send(message)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted, tracked)
        except BodyTooLarge as exc:  # read outside any handler (e.g. by a middleware)
            if started:
                raise
            for message in _problem(scope, 413, "Content Too Large", str(exc.detail)):
                await send(message)
