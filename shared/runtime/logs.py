"""JSON logs, one object per line, carrying the request id of the request being served,
the trace id of the current span, and the appeal and correlation ids of the fact at hand
(the consume loop, the relay and the timers set them with `about`).

Logs carry no personal data: the message, string fields and exception texts are scrubbed
(numbers and ID cards masked as shared.masking does, the values pydantic and PostgreSQL echo
in their errors redacted); SQL parameters never reach them (the engine hides them)."""

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from shared import masking
from shared.runtime import tracing

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_about: ContextVar[dict[str, str]] = ContextVar("about", default={})  # noqa: B039 (never mutated)
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# What errors repeat of their input: pydantic's `input_value=...`, PostgreSQL's
# `Key (phone)=(...)`, SQLAlchemy's `[parameters: ...]` (hidden by the engine, and here too).
_ECHOED = (
    (re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.MULTILINE), "input_value=<hidden>"),
    (re.compile(r"(Key \([^)]*\))=\(.*?\)(?= already| is not|$)", re.MULTILINE), r"\1=(<hidden>)"),
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL), "[parameters: <hidden>]"),
)


# Identifiers logged to be searched for: a UUID, or one as 32 hex digits (a request id). The
# number masking would otherwise take their runs of digits for phone or card numbers.
# Undashed, it must hold a letter: 32 digits may be numbers run together.
_IDENTIFIER = re.compile(
    r"\b(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|(?=[0-9]*[a-f])[0-9a-f]{32})\b",
    re.IGNORECASE,
)


def scrub(text: str) -> str:
    """Text for a log line: echoed values hidden, numbers and ID cards masked, identifiers
    (UUIDs, request ids) kept whole."""
    for pattern, replacement in _ECHOED:
        text = pattern.sub(replacement, text)
    parts, last = [], 0
    for found in _IDENTIFIER.finditer(text):
        parts += [masking.numbers(text[last : found.start()]), found.group(0)]
        last = found.end()
    return "".join([*parts, masking.numbers(text[last:])])


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "service": self._service,
            "message": scrub(record.getMessage()),
        }
        if (rid := request_id.get()) is not None:
            entry["request_id"] = rid
        if (trace := tracing.trace_id()) is not None:
            entry["trace_id"] = trace
        entry.update(_about.get())
        entry.update(
            {
                k: scrub(v) if isinstance(v, str) else v
                for k, v in vars(record).items()
                if k not in _STANDARD
            }
        )
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


@contextlib.contextmanager
def about(**ids: Any) -> Iterator[None]:
    """Every log line within carries these ids (appeal_id, correlation_id), besides any
    already set; None values are left out."""
    token = _about.set(_about.get() | {k: str(v) for k, v in ids.items() if v is not None})
    try:
        yield
    finally:
        _about.reset(token)


def add(**ids: Any) -> None:
    """Add ids for the rest of the enclosing `about` block, which undoes them on leaving."""
    _about.set(_about.get() | {k: str(v) for k, v in ids.items() if v is not None})


def configure(service: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    # httpx logs each request's URL at INFO: a webhook's may carry its receiver's token.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").disabled = True  # the middleware logs requests
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's errors too go through the scrubber
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
