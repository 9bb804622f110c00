"""ASGI middleware: request ids, access logs and request metrics, in one pass. The request's
span (and so its trace id in these log lines) is FastAPI's own (tracing.app_telemetry), current
around the whole app."""

import logging
import time
import uuid
from urllib.parse import parse_qsl, urlencode

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.runtime import logs, metrics

QUIET_PATHS = frozenset({"/livez", "/healthz", "/readyz", "/metrics"})
# Path parameters that are their bearer's right to act (a rating link's token: whoever holds
# it may rate), so never logged or traced: their place in the path says which was used.
SECRET_PATH_PARAMETERS = frozenset({"token"})
# Query parameters the request's span must not keep (the access log keeps no query): an
# Open311 partner's key, and the digits of a phone a citizen checks progress with.
SECRET_QUERY_PARAMETERS = frozenset({"api_key", "phone_last4"})
log = logging.getLogger("hotline.http")


class RequestContext:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self._app = app
        self._service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in QUIET_PATHS:
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming[:100] if incoming else uuid.uuid4().hex
        token = logs.request_id.set(rid)
        scope.setdefault("state", {})["request_id"] = rid  # for the 500 answered outside
        status, waited = 500, False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, waited
            if message["type"] == "http.response.start":
                status = message["status"]
                waited = any(
                    name.lower() == b"preference-applied" and value.startswith(b"wait")
                    for name, value in message.get("headers", [])
                )
                _redact_span(scope)  # the route is matched by now; the span still open
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.HTTP_REQUESTS.labels(self._service, scope["method"], path, str(status)).inc()
            if not waited:  # held for its `Prefer: wait` by design: its time is the wait asked
                metrics.HTTP_LATENCY.labels(self._service, scope["method"], path).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": _shown_path(scope),
                    "status": status,
                    "ms": round(elapsed * 1000, 1),
                },
            )
            logs.request_id.reset(token)


def _shown_path(scope: Scope) -> str:
    """The path with each secret parameter's value replaced by its name."""
    path: str = scope["path"]
    for name, value in scope.get("path_params", {}).items():
        if name in SECRET_PATH_PARAMETERS and value:
            path = path.replace(str(value), f"{{{name}}}")
    return path


def _redact_span(scope: Scope) -> None:
    """The request's span recorded the path and query as they came: their secrets out."""
    span = trace.get_current_span()
    if not span.is_recording():  # nothing exported (the default): nothing to take out
        return
    if (path := _shown_path(scope)) != scope["path"]:
        span.set_attribute("url.path", path)
    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if any(name in SECRET_QUERY_PARAMETERS for name, _ in pairs):
        shown = [(n, "REDACTED" if n in SECRET_QUERY_PARAMETERS else v) for n, v in pairs]
        span.set_attribute("url.query", urlencode(shown))
