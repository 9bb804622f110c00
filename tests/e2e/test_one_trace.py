"""One appeal, one trace, across four processes: each service writes its finished spans to a
file of its own (HOTLINE_TRACE_FILE); gathered, every span about the appeal shares the trace
id of intake's POST, from the request through the relay and Kafka to dispatch, feedback and
audit."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import topics
from tests.e2e.conftest import running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import polling
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
SERVICES = ("intake", "dispatch", "feedback", "audit")


def _spans(files: dict[str, Path]) -> list[dict[str, Any]]:
    found = []
    for service, path in files.items():
        if path.exists():
            # The last piece, if not ended by a newline, is a line still being written.
            for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
                span = json.loads(line)
                span["service"] = service
                found.append(span)
    return found


async def test_an_appeals_path_is_one_trace_across_the_four_services(
    servers: None, tmp_path: Path
) -> None:
    files = {name: tmp_path / f"{name}.spans.jsonl" for name in SERVICES}
    env = {name: {"HOTLINE_TRACE_FILE": str(path)} for name, path in files.items()}
    async with running_stack(env=env) as stack, httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.intake.url}/v1/appeals",
            json=APPEAL,
            headers={**bearer(*OPERATOR), "Idempotency-Key": "one-trace"},
        )
        assert created.status_code == 201, created.text
        appeal_id = created.json()["id"]

        def about_appeal(span: dict[str, Any]) -> bool:
            return bool(span.get("attributes", {}).get("hotline.appeal_id") == appeal_id)

        wanted = {
            ("intake", f"{topics.INTAKE} publish"),
            ("dispatch", f"{topics.INTAKE} process"),
            ("dispatch", f"{topics.DISPATCH} publish"),
            ("feedback", f"{topics.DISPATCH} process"),
            ("audit", f"{topics.INTAKE} process"),
            ("audit", f"{topics.DISPATCH} process"),
        }

        async def whole_path() -> list[dict[str, Any]] | None:
            mine = [s for s in _spans(files) if about_appeal(s)]
            return mine if wanted <= {(s["service"], s["name"]) for s in mine} else None

        mine = await polling.until(whole_path, what="spans of the whole path", deadline_seconds=60)

    everything = _spans(files)
    post = [
        s
        for s in everything
        if s["service"] == "intake"
        and s["kind"] == "SpanKind.SERVER"
        and s["name"].startswith("POST")
    ]
    assert len(post) == 1, [s["name"] for s in post]
    trace_id = post[0]["context"]["trace_id"]
    assert {s["context"]["trace_id"] for s in mine} == {trace_id}
    in_trace = [s for s in everything if s["context"]["trace_id"] == trace_id]
    # Intake's transaction is in it (SQLAlchemy's spans), and every service took part.
    assert any(s["service"] == "intake" and s["kind"] == "SpanKind.CLIENT" for s in in_trace)
    assert {s["service"] for s in in_trace} == set(SERVICES)
    # Every span but the POST has its parent in the same trace: nothing starts a new one.
    ids = {s["context"]["span_id"] for s in in_trace}
    orphans = [s["name"] for s in in_trace if s is not post[0] and s["parent_id"] not in ids]
    assert orphans == []
