"""Log lines carry no personal data, whatever an error repeats of its input."""

import json
import logging
import sys

from pydantic import ValidationError

from shared import events
from shared.runtime import logs

NAME, PHONE, ID_NUMBER = "欧阳标记", "13912345678", "11010119900307123X"


def _line(message: str, exc: BaseException | None = None, **extra: object) -> str:
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, message, (), None)
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    record.__dict__.update(extra)
    return logs.JsonFormatter("test").format(record)


def test_a_validation_error_in_a_log_shows_none_of_its_input() -> None:
    try:
        events.Citizen(name=NAME * 30, phone=f"{PHONE}x", id_number=ID_NUMBER + "9")
    except ValidationError as exc:
        line = _line("filing failed", exc, error=str(exc))
    else:  # pragma: no cover - the model must refuse it
        raise AssertionError("the citizen was accepted")
    assert "input_value=<hidden>" in line
    for secret in (NAME, PHONE, "19900307"):
        assert secret not in json.loads(line)["exception"] + line


def test_numbers_in_messages_fields_and_database_errors_are_masked() -> None:
    detail = f'DETAIL:  Key (phone)=({NAME}) already exists.\n[parameters: ("{NAME}", 1)]'
    line = _line(f"call 138 1234 5678 or {PHONE}", None, error=detail, path="/v1/x")
    assert NAME not in line
    assert PHONE not in line
    assert "1234 5678" not in line
    assert json.loads(line)["path"] == "/v1/x"
    assert "2024-05-01" in _line("due 2024-05-01, 3 attempts")


def test_identifiers_are_kept_whole_while_the_numbers_beside_them_are_masked() -> None:
    appeal, request = "681eba2f-ce90-4f3c-9bd7-d7cea1234572", "681eba2fce904f3c9bd7d7cea1234572"
    line = json.loads(
        _line(f"failed; call {PHONE}", None, request_id=request, path=f"/v1/appeals/{appeal}")
    )
    assert (line["request_id"], line["path"]) == (request, f"/v1/appeals/{appeal}")
    assert PHONE not in line["message"]
    run_together = f"{PHONE}110101199003071234567"  # 32 digits: numbers, not an id
    assert PHONE not in logs.scrub(f"x {run_together} y")


def test_uvicorn_errors_go_through_the_same_formatter() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.configure("test", "INFO")
        assert logging.getLogger("uvicorn.error").handlers == []
        assert logging.getLogger("uvicorn.error").propagate
        [handler] = root.handlers
        assert isinstance(handler.formatter, logs.JsonFormatter)
        assert getattr(handler, "stream", None) is sys.stderr
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
